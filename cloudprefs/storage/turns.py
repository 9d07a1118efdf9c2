"""Writers of one container in this process take turns.

Two writers of one container that overlap would both start from the
same revision; one compare-and-swap loses, and its writer reads and
writes again, round trips that under load each wait behind every other
request of the process (they made the p99 latency of writes). Taking
turns, the second writer starts from the first one's result (the
write-guess cache holds it) and needs one round trip. Writers in other
processes are still sorted out by the compare-and-swap.
"""

import contextlib
import threading


class WriterTurns:

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
