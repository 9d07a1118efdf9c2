"""The bookkeeping behind cloudprefs-api's connection limit and deadlines
(the protocol itself is tested against a real process)."""

import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

from cloudprefs.eventlet_server import protocol  # noqa: E402


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


class Connection:
    def __init__(self, name):
        self.name = name
        self.closed_for = None

    def close_for(self, why):
        self.closed_for = why


def test_a_new_connection_past_the_limit_closes_the_longest_waiting():
    clock = Clock()
    limit = protocol.ConnectionLimit(2, clock=clock)
    first, second = Connection('first'), Connection('second')
    assert limit.admit() and limit.admit()
    limit.waiting(first, 10, 'head')
    clock.now += 1
    limit.waiting(second, 10, 'head')
    clock.now += 1
    limit.waiting(first, 10, 'head again')   # keeps its place in line
    assert limit.admit()
    assert first.closed_for.startswith('it waited longest')
    assert second.closed_for is None


def test_connections_inside_requests_are_never_closed_for_room():
    limit = protocol.ConnectionLimit(1, clock=Clock())
    busy = Connection('busy')
    assert limit.admit()
    limit.waiting(busy, 10, 'head')
    limit.serving(busy)
    assert not limit.admit()
    assert busy.closed_for is None
    limit.closed(busy)
    assert limit.admit()


def test_the_sweep_closes_connections_past_their_deadline():
    clock = Clock()
    limit = protocol.ConnectionLimit(10, clock=clock)
    slow, idle, busy = (Connection(n) for n in ('slow', 'idle', 'busy'))
    for connection in (slow, idle, busy):
        limit.admit()
    limit.waiting(slow, 15, 'slow head')
    limit.waiting(idle, 60, 'idle')
    limit.waiting(busy, 15, 'head')
    limit.serving(busy)
    clock.now += 14.9
    limit.sweep()
    assert slow.closed_for is None
    clock.now += 0.2
    limit.sweep()
    assert slow.closed_for == 'slow head'
    assert idle.closed_for is None and busy.closed_for is None
    clock.now += 60
    limit.sweep()
    assert idle.closed_for == 'idle' and busy.closed_for is None
