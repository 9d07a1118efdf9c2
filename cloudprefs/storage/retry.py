"""The one retry policy of every driver.

A storage operation (a read, or a whole write with its reads, its
compare-and-swap and the attempts after a lost race) has one deadline,
``[database] operation_timeout`` from its start. Within it, a primitive
that raises TransientError runs again after a jittered, growing pause; a
write that lost its compare-and-swap to another writer starts again after
a short random one. Past the deadline the caller gets BackendUnavailable
(503 with ``Retry-After``). Nothing else retries: the drivers' clients
have their own retries turned off, so attempts never multiply.

No attempt waits past the deadline either: while a primitive runs,
:func:`time_left` tells the driver how long it may still wait (for a
connection of the pool, to connect, for the server to answer), and the
drivers cap their waits by it.

Running a primitive again is always safe: reads change nothing, and every
write is a compare-and-swap on the revision it read, so a write whose
acknowledgement was lost finds its own result on the next read and, the
change being idempotent, has nothing left to do.
"""

import logging
import random
import threading
import time

from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)

FIRST_PAUSE = 0.005
LONGEST_PAUSE = 0.5
# After a lost compare-and-swap: someone else wrote, the way is clear now.
LOST_RACE_PAUSE = 0.002

# The deadline of the operation running in this thread (a green thread
# under cloudprefs-api, which patches threading before this is imported).
_running = threading.local()


class Deadline:
    """The moment one storage operation must be done by."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expires = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    def give_up(self, why: str, cause: BaseException = None):
        error = exceptions.BackendUnavailable(
            '%s within the %g s operation timeout' % (why, self.seconds))
        raise error from cause


def time_left(default=None):
    """Seconds left to the deadline of the storage operation this thread
    runs (at most 0 once it has passed); ``default`` outside one."""
    deadline = getattr(_running, 'deadline', None)
    if deadline is None:
        return default
    return max(0.0, deadline.remaining())


def retrying():
    """Whether the primitive running in this thread is an attempt after a
    transient error (so the database may be down, not merely busy)."""
    return getattr(_running, 'retrying', False)


def call(deadline: Deadline, function, *args):
    """``function(*args)``, run again after TransientError until
    ``deadline``."""
    outer = (getattr(_running, 'deadline', None),
             getattr(_running, 'retrying', False))
    _running.deadline, _running.retrying = deadline, False
    try:
        return _attempts(deadline, function, args)
    finally:
        _running.deadline, _running.retrying = outer


def _attempts(deadline, function, args):
    pause = FIRST_PAUSE
    while True:
        try:
            return function(*args)
        except exceptions.TransientError as error:
            _running.retrying = True
            if deadline.remaining() < pause:
                deadline.give_up('the database did not answer',
                                 error.__cause__ or error)
            LOG.debug('Retrying %s after a transient database error: %r',
                      getattr(function, '__name__', function),
                      error.__cause__ or error)
        # A green sleep under eventlet: other requests go on meanwhile.
        time.sleep(random.uniform(pause / 2, pause))
        pause = min(pause * 2, LONGEST_PAUSE)


def pause_after_lost_race(deadline: Deadline):
    """Wait a moment before a write tries again, or give up."""
    if deadline.remaining() <= 0:
        deadline.give_up('other writers kept changing the container')
    time.sleep(random.uniform(0, LOST_RACE_PAUSE))
