"""Held requests: their bounds, what wakes them, and clients hanging up."""

import socket
import threading
import time

import pytest

from cloudprefs.api import waiting


class Storage:
    """Feed positions as the storage driver gives them."""

    def __init__(self):
        self.positions = {}

    def feed_positions(self, users):
        return {user: self.positions[user] for user in users
                if user in self.positions}


class Change:
    def __init__(self, user_id, container, position):
        self.user_id = user_id
        self.container = container
        self.position = position


@pytest.fixture
def waiters():
    return waiting.FeedWaiters(Storage(), poll_interval=0.05, max_held=4,
                               max_held_per_user=2)


def test_holds_are_bounded_per_worker_and_per_user(waiters):
    first = waiters.hold('a')
    second = waiters.hold('a')
    assert first and second
    assert waiters.hold('a') is None            # a's two places
    assert waiters.hold('b') and waiters.hold('c')
    assert waiters.hold('d') is None            # the worker's four
    first.end()
    assert waiters.hold('d') is not None        # a place given back
    assert len(waiters) == 4


def test_no_place_at_all_holds_nothing():
    waiters = waiting.FeedWaiters(Storage(), 0.05, max_held=0,
                                  max_held_per_user=10)
    assert waiters.hold('a') is None


def test_holds_for_keeps_a_quarter_free():
    assert waiting.holds_for(1) == 0
    assert waiting.holds_for(2) == 1
    assert waiting.holds_for(32) == 24
    assert waiting.holds_for(4000) == 3000


@pytest.mark.parametrize('wait', [0, 0.5, 1, 7, 60])
def test_retry_after_is_between_half_and_all_of_the_wait(wait):
    for _ in range(50):
        seconds = waiting.retry_after(wait)
        assert isinstance(seconds, int)
        assert max(1, int(wait / 2)) <= seconds <= max(1, wait)


def test_a_watch_wakes_for_its_container_only():
    storage = Storage()
    storage.positions['a'] = 4      # the shared poll sees no move
    waiters = waiting.FeedWaiters(storage, 0.05, 4, 4)
    hold = waiters.hold('a', container='settings')
    hold.arm()
    waiters.storage_changed(Change('a', 'other', 5))
    assert not hold.wait(4, 0.1)
    hold.arm()
    waiters.storage_changed(Change('a', 'settings', 6))
    assert hold.wait(5, 0.1)
    hold.end()


def test_a_change_before_the_wait_still_wakes_it(waiters):
    hold = waiters.hold('a')
    hold.arm()
    waiters.storage_changed(Change('a', 'c', 8))   # between read and wait
    assert hold.wait(7, 0.1)
    hold.end()


def test_the_shared_poll_wakes_on_a_moved_or_purged_feed():
    storage = Storage()
    waiters = waiting.FeedWaiters(storage, 0.05, 4, 4)
    storage.positions['a'] = 3
    hold = waiters.hold('a')
    hold.arm()
    assert not hold.wait(3, 0.3)                # nothing moved
    hold.arm()
    storage.positions['a'] = 4                  # another process wrote
    assert hold.wait(3, 2)
    hold.arm()
    del storage.positions['a']                  # the user was purged
    assert hold.wait(4, 2)
    hold.end()


def test_a_client_that_hangs_up_ends_its_hold(waiters):
    server_end, client_end = socket.socketpair()
    try:
        hold = waiters.hold('a', connection_fd=server_end.fileno())
        hold.arm()
        results = []
        waiter = threading.Thread(
            target=lambda: results.append(hold.wait(0, 30)))
        started = time.monotonic()
        waiter.start()
        client_end.close()
        waiter.join(10)
        assert results == [False] and hold.client_gone
        assert time.monotonic() - started < 10
        hold.end()
    finally:
        server_end.close()


def test_release_answers_every_held_request(waiters):
    hold = waiters.hold('a')
    hold.arm()
    threading.Timer(0.1, waiting.release_all).start()
    assert hold.wait(0, 30)
    assert waiters.released
    hold.end()
