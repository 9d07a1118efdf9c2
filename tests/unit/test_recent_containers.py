"""The bounded memory of recently seen containers (a write's guess) and
the writers' turns."""

import threading
import time

from cloudprefs.storage import recent


def test_remembers_and_forgets():
    seen = recent.RecentContainers()
    seen.remember('u', 'c', 7, '{"a":1}', 7)
    assert seen.get('u', 'c') == recent.Seen(7, '{"a":1}', 7)
    assert seen.get('u', 'other') is None
    assert seen.get('other', 'c') is None
    seen.forget('u', 'c')
    assert seen.get('u', 'c') is None
    assert seen.bytes == 0


def test_a_newer_sight_replaces_the_older():
    seen = recent.RecentContainers()
    seen.remember('u', 'c', 1, '{}', 2)
    seen.remember('u', 'c', 2, '{"a":1}', 7)
    assert seen.get('u', 'c').revision == 2
    assert len(seen) == 1 and seen.bytes == 7


def test_least_recently_used_goes_first_past_the_entry_limit():
    seen = recent.RecentContainers(max_entries=2)
    seen.remember('u', 'a', 1, '{}', 2)
    seen.remember('u', 'b', 1, '{}', 2)
    seen.get('u', 'a')                      # now b is the oldest
    seen.remember('u', 'c', 1, '{}', 2)
    assert seen.get('u', 'b') is None
    assert seen.get('u', 'a') is not None and seen.get('u', 'c') is not None
    assert len(seen) == 2 and seen.bytes == 4


def test_byte_budget_is_kept():
    seen = recent.RecentContainers(max_bytes=1000)
    for number in range(20):
        seen.remember('u', 'c%d' % number, 1, 'x' * 90, 90)
    assert seen.bytes <= 1000
    assert len(seen) == 11
    assert seen.get('u', 'c19') is not None
    assert seen.get('u', 'c0') is None


def test_large_values_are_not_kept():
    seen = recent.RecentContainers(max_bytes=1000)
    seen.remember('u', 'small', 1, 'x' * 100, 100)
    seen.remember('u', 'big', 1, 'x' * 101, 101)
    assert seen.get('u', 'big') is None
    assert seen.get('u', 'small') is not None


def test_forget_user_drops_only_that_user():
    seen = recent.RecentContainers()
    seen.remember('u', 'a', 1, '{}', 2)
    seen.remember('u', 'b', 1, '{}', 2)
    seen.remember('v', 'a', 1, '{}', 2)
    seen.forget_user('u')
    assert seen.get('u', 'a') is None and seen.get('u', 'b') is None
    assert seen.get('v', 'a') is not None
    assert seen.bytes == 2


def test_writers_of_one_container_take_turns():
    turns = recent.WriterTurns()
    inside = []
    overlaps = []

    def write(name):
        with turns.turn('u', name):
            inside.append(name)
            if inside.count(name) > 1:
                overlaps.append(name)
            time.sleep(0.005)   # room for an overlap, were there no turns
            inside.remove(name)

    threads = [threading.Thread(target=write, args=(name,))
               for name in ['a'] * 5 + ['b'] * 5]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert len(turns) == 0      # nothing kept once every writer is done


def test_writers_of_other_containers_do_not_wait():
    turns = recent.WriterTurns()
    other_inside = threading.Event()

    def write_other():
        with turns.turn('u', 'b'):
            other_inside.set()

    with turns.turn('u', 'a'):
        other = threading.Thread(target=write_other)
        other.start()
        assert other_inside.wait(10)
    other.join()
