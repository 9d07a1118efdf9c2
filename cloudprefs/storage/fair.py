"""Waiting in turn: a first-come, first-served semaphore, and stepping
aside.

The requests of one process wait for a pooled database connection and for
their turn at heavy JSON work. Python's own semaphore lets a newcomer take
what was just given back, ahead of the threads already waiting, and under
a sustained load some waiters were passed over until their timeout (503s
at 256 clients on a pool of 32). :class:`FairSemaphore` hands what is
given back straight to the longest waiter instead.

Built only on ``threading``, it is the same code under native threads
(uwsgi, mod_wsgi) and under cloudprefs-api, where eventlet's monkey
patching makes ``threading``'s locks green.
"""

import collections
import threading
import time


class FairSemaphore:
    """A bounded semaphore whose waiters are served in arrival order."""

    def __init__(self, count):
        self._free = count
        self._guard = threading.Lock()
        # One lock per waiter, held until its turn comes: released by
        # the holder who gives its place to that waiter.
        self._waiters = collections.deque()

    def acquire(self, timeout=None):
        """Take a place, waiting at most ``timeout`` seconds (None: as
        long as it takes); whether a place was taken."""
        with self._guard:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            return True
        with self._guard:
            try:
                self._waiters.remove(turn)
            except ValueError:
                # Handed the place just as the wait ran out: keep it.
                return True
        return False

    def release(self):
        with self._guard:
            if self._waiters:
                # The place goes to the longest waiter, never back to
                # the pool where a newcomer could take it.
                self._waiters.popleft().release()
            else:
                self._free += 1

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()


def step_aside():
    """Let every other runnable thread (green or native) run first."""
    time.sleep(0)
