"""Holding long-poll and watch requests until something changes.

One :class:`FeedWaiters` per application (so per worker process) holds
every waiting request. A held request waits for its user's feed to move
past the position it was answered with (a watch: for its container to
change). Three things wake it:

* a write made by this process, at once (the storage driver's change
  listener); a watch wakes only for a write of its own container, or a
  purge of its user;
* one shared poll, every ``[changes] poll_interval`` while anyone waits:
  a single query for the feed positions of all the waiting users, so a
  write made by another worker or process is seen within the interval,
  whatever the number of waiting clients;
* its client hanging up: once a second the same poller asks the kernel,
  in one call for all held requests, which of their connections the
  client has closed, and those are answered (to nobody) and their places
  freed.

A held request keeps a thread of a threaded server (uwsgi, mod_wsgi) busy,
and a connection of cloudprefs-api's pool, so a worker holds at most
``[changes] max_waiting_per_worker`` requests, ``max_waiting_per_user`` of
one user. A request past either bound is not held: it is answered at
once, with ``Retry-After`` saying when to ask again (see
:func:`retry_after`). So followers never lock other requests out, and
no user can take every place.

When the worker stops or reloads, :func:`release_all` wakes every held
request, so they are answered at once with what they have instead of
being cut off.
"""

import logging
import math
import random
import select
import threading
import time
import weakref

from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)

# Seconds between two checks of the held requests' connections.
CLIENT_CHECK_INTERVAL = 1.0

_EVERY_INSTANCE = weakref.WeakSet()

# select.poll, or a replacement where the server took it away (eventlet's
# monkey patching deletes it; cloudprefs-api gives back the original).
_poll_factory = getattr(select, 'poll', None)
_HUNG_UP = (getattr(select, 'POLLRDHUP', 0x2000) | select.POLLHUP
            | select.POLLERR | select.POLLNVAL)


def use_poll(poll_factory):
    """Check connections with ``poll_factory()`` (a ``select.poll``)."""
    global _poll_factory
    _poll_factory = poll_factory


def release_all():
    """Answer every held request of this process now (worker stopping)."""
    for waiters in list(_EVERY_INSTANCE):
        waiters.release()


def holds_for(concurrency):
    """How many requests a worker that serves ``concurrency`` requests at
    once (threads, or cloudprefs-api's connections) may hold: three
    quarters, keeping at least one place for other requests."""
    return max(0, concurrency - max(1, math.ceil(concurrency / 4)))


def retry_after(wait):
    """Seconds to tell a client whose request was not held before it
    asks again: between half and all of the wait it asked for (spread, so
    that refused clients do not come back together), at least one. A
    follower that honours it asks no more often than one held for its
    whole wait."""
    wait = max(1.0, wait)
    return max(1, int(random.uniform(wait / 2, wait)))


class Hold:
    """One held request: whose, of what, and how to see its client go.

    Made by :meth:`FeedWaiters.hold`. Each round, :meth:`arm` before
    reading what the request waits on, then :meth:`wait` with the feed
    position read: a change after the arming wakes it, even one that
    came before the wait began. :meth:`end` (or the ``with`` block) gives
    the place back.
    """

    __slots__ = ('_waiters', 'user_id', 'feeds', 'container',
                 'connection_fd', 'positions', 'event', 'client_gone')

    def __init__(self, waiters, feeds, container, connection_fd):
        self._waiters = waiters
        # The feeds it waits on: the requester's first, then (a watch of
        # the merged layers) each layer's.
        self.user_id = feeds[0]
        self.feeds = feeds
        self.container = container
        self.connection_fd = connection_fd
        self.positions = None
        self.event = threading.Event()
        self.client_gone = False

    def arm(self):
        """Start a round: from now on a change wakes the next wait."""
        with self._waiters.lock:
            self.positions = None
            self.event.clear()

    def wait(self, position, timeout):
        """Wait up to ``timeout`` seconds for a change after ``position``
        (the feed position read since :meth:`arm`; for a hold on several
        feeds, a mapping of each feed to its position); whether one may
        have come (False: the time ran out, or the client is gone)."""
        if not isinstance(position, dict):
            position = {self.user_id: position}
        with self._waiters.lock:
            self.positions = position
        if self._waiters.released:
            return True
        return self.event.wait(timeout) and not self.client_gone

    def wake_for(self, feed, container, position):
        """Wake for a change of ``container`` (None: of any; a purge, or
        a move the poll saw) that put ``feed`` at ``position`` (None: a
        purge). Called with the waiters' lock held."""
        if (self.container is not None and container is not None
                and container != self.container):
            return
        if (position is None or self.positions is None
                or position != self.positions.get(feed)):
            self.event.set()

    def end(self):
        self._waiters.end(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.end()


class FeedWaiters:
    """The requests of one process waiting on their users' feeds.

    :param storage: the storage driver (its ``feed_positions``).
    :param poll_interval: seconds between two shared polls.
    :param max_held: requests held at once, at most.
    :param max_held_per_user: requests of one user held at once, at most.
    """

    def __init__(self, storage, poll_interval, max_held,
                 max_held_per_user):
        self._storage = storage
        self._poll_interval = poll_interval
        self.max_held = max_held
        self.max_held_per_user = max_held_per_user
        # Guards the holds and their positions.
        self.lock = threading.Lock()
        self._held = {}             # user id -> [Hold]
        self._count = 0
        self._someone_waits = threading.Event()
        self._poller = None
        self._released = False
        _EVERY_INSTANCE.add(self)

    @property
    def released(self):
        """True once the process is stopping: answer, do not wait."""
        return self._released

    def __len__(self):
        return self._count

    def hold(self, user_id, container=None, connection_fd=None,
             also=()):
        """A :class:`Hold` for a request of ``user_id`` about to wait (for
        a change of ``container``, or of any), or None when it may not be
        held: answer it at once, with :func:`retry_after`.
        ``connection_fd``: its client's socket, to see the client hang
        up (None: not seen). ``also``: more feeds a change of which wakes
        it (the shared layers under a merged read)."""
        with self.lock:
            holds = self._held.get(user_id, ())
            if (self._count >= self.max_held
                    or len(holds) >= self.max_held_per_user):
                return None
            hold = Hold(self, (user_id,) + tuple(also), container,
                        connection_fd)
            for feed in hold.feeds:
                self._held.setdefault(feed, []).append(hold)
            self._count += 1
            self._someone_waits.set()
            if self._poller is None:
                self._poller = threading.Thread(
                    target=self._poll_forever, name='feed-poll',
                    daemon=True)
                self._poller.start()
        return hold

    def end(self, hold):
        with self.lock:
            for feed in hold.feeds:
                holds = self._held.get(feed, [])
                if hold in holds:
                    holds.remove(hold)
                    if feed == hold.user_id:
                        self._count -= 1
                if not holds:
                    self._held.pop(feed, None)

    def storage_changed(self, change):
        """Change listener: wake the holds the change concerns."""
        with self.lock:
            for hold in self._held.get(change.user_id, ()):
                hold.wake_for(change.user_id, change.container,
                              change.position)

    def release(self):
        with self.lock:
            self._released = True
            for holds in self._held.values():
                for hold in holds:
                    hold.event.set()

    def _poll_forever(self):
        next_client_check = time.monotonic() + CLIENT_CHECK_INTERVAL
        while True:
            self._someone_waits.wait()
            time.sleep(self._poll_interval)
            with self.lock:
                users = list(self._held)
                if not users:
                    self._someone_waits.clear()
                    continue
            self._wake_moved_feeds(users)
            if time.monotonic() >= next_client_check:
                next_client_check = time.monotonic() + CLIENT_CHECK_INTERVAL
                self._wake_for_gone_clients()

    def _wake_moved_feeds(self, users):
        try:
            positions = self._storage.feed_positions(users)
        except exceptions.StorageError as error:
            # The holds time out as they would; the next poll tries again.
            LOG.warning('Cannot poll the change feeds: %r', error)
            return
        except Exception:
            LOG.exception('Cannot poll the change feeds')
            return
        with self.lock:
            for user_id in users:
                # A user without a feed (none yet, or purged) is at 0.
                position = positions.get(user_id, 0)
                for hold in self._held.get(user_id, ()):
                    hold.wake_for(user_id, None, position)

    def _wake_for_gone_clients(self):
        if _poll_factory is None:
            return
        with self.lock:
            watched = {hold.connection_fd: hold
                       for holds in self._held.values() for hold in holds
                       if hold.connection_fd is not None}
        if not watched:
            return
        poller = _poll_factory()
        for fd in watched:
            poller.register(fd, _HUNG_UP)
        try:
            events = poller.poll(0)
        except OSError as error:
            LOG.warning('Cannot check the held connections: %s', error)
            return
        with self.lock:
            for fd, event in events:
                if event & _HUNG_UP:
                    hold = watched[fd]
                    hold.client_gone = True
                    hold.event.set()
