"""The write-guess cache: what this process last saw of recently used
containers.

A write is a compare-and-swap: it needs the container's current value
and revision. Reading them first costs a database round trip; starting
from what this process last read or wrote saves it. The entry is only a
guess: the write still says "replace revision N", so an entry that is out
of date (another process wrote since) makes the write change nothing, and
the base driver then reads the container and tries again. A guess never
answers a read, and never decides a refusal or a write that changes
nothing: those are judged on a fresh read (see
:meth:`cloudprefs.storage.base.StorageDriver._change`).

It is a layer the base driver fills the same way for every driver (after
each whole-container read and each write) and that ``[database]
recent_containers_cache_size = 0`` switches off: :class:`NoRecentContainers`
then answers every question with "never seen".

Bounded by entries and by bytes, least recently used first out; a value
larger than a tenth of the byte budget is not kept.
"""

import collections
import threading

from cloudprefs.storage import records

DEFAULT_MAX_ENTRIES = 10000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class RecentContainers:

    def __init__(self, max_entries=DEFAULT_MAX_ENTRIES,
                 max_bytes=DEFAULT_MAX_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries = collections.OrderedDict()
        self._bytes = 0
        # Held for a few dictionary operations only (no I/O inside); for
        # WSGI servers that run requests in real threads.
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    @property
    def bytes(self):
        return self._bytes

    def get(self, user_id, name):
        """The :class:`~cloudprefs.storage.records.Stored` last seen, or
        None."""
        key = (user_id, name)
        with self._lock:
            seen = self._entries.get(key)
            if seen is not None:
                self._entries.move_to_end(key)
        return seen

    def remember(self, user_id, name, stored: records.Stored):
        with self._lock:
            self._pop((user_id, name))
            if stored.size > self.max_bytes // 10:
                return
            self._entries[(user_id, name)] = stored
            self._bytes += stored.size
            while (len(self._entries) > self.max_entries
                   or self._bytes > self.max_bytes):
                _key, oldest = self._entries.popitem(last=False)
                self._bytes -= oldest.size

    def forget(self, user_id, name):
        with self._lock:
            self._pop((user_id, name))

    def forget_user(self, user_id):
        with self._lock:
            for key in [key for key in self._entries if key[0] == user_id]:
                self._pop(key)

    def _pop(self, key):
        seen = self._entries.pop(key, None)
        if seen is not None:
            self._bytes -= seen.size


class NoRecentContainers:
    """The cache switched off: nothing is remembered."""

    bytes = 0

    def __len__(self):
        return 0

    def get(self, user_id, name):
        return None

    def remember(self, user_id, name, stored):
        pass

    def forget(self, user_id, name):
        pass

    def forget_user(self, user_id):
        pass


def make(max_entries):
    """The cache for ``[database] recent_containers_cache_size``."""
    if max_entries <= 0:
        return NoRecentContainers()
    return RecentContainers(max_entries=max_entries)
