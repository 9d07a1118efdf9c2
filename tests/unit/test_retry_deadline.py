"""What a primitive learns of its operation's deadline (storage.retry)."""

from cloudprefs.storage import exceptions
from cloudprefs.storage import retry


def test_a_primitive_sees_the_time_left_and_whether_it_retries():
    seen = []

    def primitive():
        seen.append((retry.time_left(), retry.retrying()))
        if len(seen) < 3:
            raise exceptions.TransientError('injected')
        return 'done'

    assert retry.time_left() is None
    assert retry.time_left(7) == 7
    assert retry.call(retry.Deadline(5), primitive) == 'done'
    assert [retrying for _left, retrying in seen] == [False, True, True]
    lefts = [left for left, _retrying in seen]
    assert 4 < lefts[0] <= 5 and lefts == sorted(lefts, reverse=True)
    # Outside an operation again.
    assert retry.time_left() is None and not retry.retrying()


def test_an_inner_operation_has_its_own_deadline_then_the_outer_again():
    def inner():
        return retry.time_left()

    def outer():
        inner_left = retry.call(retry.Deadline(1), inner)
        return inner_left, retry.time_left()

    inner_left, outer_left = retry.call(retry.Deadline(30), outer)
    assert inner_left <= 1 < 29 < outer_left


def test_past_the_deadline_no_time_is_left():
    deadline = retry.Deadline(0)

    def primitive():
        return retry.time_left()

    assert retry.call(deadline, primitive) == 0.0
