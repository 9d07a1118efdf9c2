"""Turns for heavy JSON work, so that a large container does not stall
the other requests of its process.

Parsing or serializing a large container is one long call into C that no
other thread of the process can interrupt (the json module holds the
GIL throughout; under eventlet nothing else runs at all): on the
development machine json.loads of 1 MiB of small objects takes 6 ms and a
whole write of it (parse, change, serialize, index) about 30 ms; of
4 MiB, 30 and 150 ms. Several such requests in flight would run one after
another and hold every other request of the process for their sum (8
clients writing a 4 MB container made another user's ``GET /v1`` wait
6.3 s).

Each step of JSON work on at least :data:`HEAVY_FROM_BYTES` takes a turn:
one at a time per process, first come first served, the others parked
(not runnable) meanwhile. With its turn, the thread steps aside
once before working, so that whatever became runnable during the
previous step runs first, and once after. So small requests run between
any two heavy steps, and one waits for at most the step under way.
"""

import contextlib

from cloudprefs.storage import fair

HEAVY_FROM_BYTES = 128 * 1024


class HeavyWork:

    def __init__(self):
        self._turn = fair.FairSemaphore(1)

    @contextlib.contextmanager
    def step(self, size):
        """A block of JSON work on about ``size`` bytes."""
        if size < HEAVY_FROM_BYTES:
            yield
            return
        with self._turn:
            fair.step_aside()
            yield
        fair.step_aside()


# One per process: the work it orders is that of the process's threads
# (or of its one event loop under cloudprefs-api, which patches threading
# before this module is imported).
turns = HeavyWork()
