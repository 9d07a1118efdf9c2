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
any two heavy steps.

Stepping aside is not enough: a small request is not runnable while it
waits for its database or its client, and each such wait let the next
heavy step in, of the same request or of another. One client writing 1
MB containers of 90,000 keys made another user's GET wait out several
steps (p99 165 ms in one process); five, p99 194 ms. So each heavy step
keeps the turn, without working, for as long as it worked, up to
:data:`MOST_PAUSE`: the small requests have the process to themselves for
that long, which is more than one takes, and heavy work gets at most
about three quarters of the process. (A lone large write pays for it: 3
steps of 1 MB, 231 → 290 ms.)
"""

import contextlib
import time

from cloudprefs.storage import fair

HEAVY_FROM_BYTES = 128 * 1024
MOST_PAUSE = 0.02


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
            started = time.monotonic()
            yield
            time.sleep(min(time.monotonic() - started, MOST_PAUSE))
        fair.step_aside()


# One per process: the work it orders is that of the process's threads
# (or of its one event loop under cloudprefs-api, which patches threading
# before this module is imported).
turns = HeavyWork()
