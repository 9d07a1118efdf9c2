"""Holding long-poll and watch requests until their user's feed moves.

One :class:`FeedWaiters` per application (so per worker process) holds
every waiting request. A waiter waits for its user's feed position to
pass the one it was answered with. Two things wake it:

* a write made by this process, at once (the storage driver's change
  listener);
* one shared poll, every ``[changes] poll_interval`` while anyone waits:
  a single query for the feed positions of all the waiting users, so a
  write made by another worker or process is seen within the interval,
  whatever the number of waiting clients.

When the worker stops (SIGTERM, or SIGHUP replacing the workers),
:func:`release_all` wakes every waiter, so held requests are answered at
once with the cursor they have instead of being cut off.
"""

import logging
import threading
import time
import weakref

from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)

_EVERY_INSTANCE = weakref.WeakSet()


def release_all():
    """Answer every held request of this process now (worker stopping)."""
    for waiters in list(_EVERY_INSTANCE):
        waiters.release()


class _Waiter:
    __slots__ = ('position', 'event')

    def __init__(self, position):
        self.position = position
        self.event = threading.Event()


class FeedWaiters:
    """The requests of one process waiting on their users' feeds.

    :param storage: the storage driver (its ``feed_positions``).
    :param poll_interval: seconds between two shared polls.
    """

    def __init__(self, storage, poll_interval):
        self._storage = storage
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._waiting = {}          # user id -> [_Waiter]
        self._someone_waits = threading.Event()
        self._poller = None
        self._released = False
        _EVERY_INSTANCE.add(self)

    @property
    def released(self):
        """True once the process is stopping: answer, do not wait."""
        return self._released

    def wait(self, user_id, position, timeout):
        """Wait up to ``timeout`` seconds for the user's feed to pass
        ``position``; whether it may have (False: the time ran out)."""
        waiter = _Waiter(position)
        with self._lock:
            if self._released:
                return True
            self._waiting.setdefault(user_id, []).append(waiter)
            self._someone_waits.set()
            if self._poller is None:
                self._poller = threading.Thread(
                    target=self._poll_forever, name='feed-poll',
                    daemon=True)
                self._poller.start()
        try:
            return waiter.event.wait(timeout)
        finally:
            with self._lock:
                waiters = self._waiting.get(user_id, [])
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    self._waiting.pop(user_id, None)

    def storage_changed(self, change):
        """Change listener: wake the user's waiters behind the change (all
        of them for a purge, which has no position)."""
        with self._lock:
            self._wake_behind(change.user_id, change.position)

    def _wake_behind(self, user_id, position):
        """Wake the user's waiters whose position is behind ``position``
        (every one when None). Called with the lock held."""
        for waiter in self._waiting.get(user_id, ()):
            if position is None or position > waiter.position:
                waiter.event.set()

    def release(self):
        with self._lock:
            self._released = True
            for waiters in self._waiting.values():
                for waiter in waiters:
                    waiter.event.set()

    def _poll_forever(self):
        while True:
            self._someone_waits.wait()
            time.sleep(self._poll_interval)
            with self._lock:
                users = list(self._waiting)
                if not users:
                    self._someone_waits.clear()
                    continue
            try:
                positions = self._storage.feed_positions(users)
            except exceptions.StorageError as error:
                # The waiters time out as they would; the next poll tries
                # again.
                LOG.warning('Cannot poll the change feeds: %r', error)
                continue
            except Exception:
                LOG.exception('Cannot poll the change feeds')
                continue
            with self._lock:
                for user_id, position in positions.items():
                    self._wake_behind(user_id, position)
