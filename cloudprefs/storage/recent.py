"""What this process last saw of recently used containers, and whose
turn it is to write one.

A write is a compare-and-swap: it needs the container's current value
and revision. Reading them first costs a database round trip; guessing
them from what this process last read or wrote saves it. The guess is
only a guess: the write still says ``WHERE revision = <guessed>``, so a
stale entry (another worker or process wrote since) makes the write
change nothing, and the driver then reads the row and tries again. Reads
never answer from here: another process may have written.

Bounded by entries and by bytes, least recently used first out; a value
larger than a tenth of the byte budget is not kept.
"""

import collections
import contextlib
import threading

DEFAULT_MAX_ENTRIES = 10000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024

Seen = collections.namedtuple('Seen', ['revision', 'text', 'size'])


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
        """The :class:`Seen` revision, compact JSON text and size, or
        None."""
        key = (user_id, name)
        with self._lock:
            seen = self._entries.get(key)
            if seen is not None:
                self._entries.move_to_end(key)
        return seen

    def remember(self, user_id, name, revision, text, size):
        with self._lock:
            self._pop((user_id, name))
            if size > self.max_bytes // 10:
                return
            self._entries[(user_id, name)] = Seen(revision, text, size)
            self._bytes += size
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


class WriterTurns:
    """Writers of one container in this process take turns.

    Two writers of one container that overlap would both start from the
    same revision; one compare-and-swap loses, and its writer reads and
    writes again, round trips that under load each wait behind every other
    request of the process (they made the p99 latency of writes). Taking
    turns, the second writer starts from the first one's result, which
    RecentContainers holds, and needs one round trip. Writers in other
    processes are still sorted out by the compare-and-swap.
    """

    def __init__(self):
        self._turns = {}    # (user_id, name) -> [lock, writers]
        self._guard = threading.Lock()

    def __len__(self):
        return len(self._turns)

    @contextlib.contextmanager
    def turn(self, user_id, name):
        key = (user_id, name)
        with self._guard:
            entry = self._turns.get(key)
            if entry is None:
                entry = self._turns[key] = [threading.Lock(), 0]
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._turns[key]
