"""Garbage collection in a process that serves the API.

Whatever the server (cloudprefs-api's eventlet workers, uwsgi's threads,
mod_wsgi), the loaded libraries, configuration and pipeline are hundreds
of thousands of objects that live as long as the process, and Python's
default collector walks them again and again: in a threaded server every
collection holds the GIL, so every request in flight waits it out.
"""

import gc

# Python's default (700, 10, 10) runs a young collection every 700 net
# allocations, several per request: the objects of requests in flight
# (and of held long-polls) are walked again and again and pushed to the
# old generation, whose full collections then walk them too. In one A/B
# run of tools/benchmark.py (3 rounds, noisy VM) collecting ten times less
# often took a 1 KB GET from 523 to 389 us of CPU and its p99 from 76 to
# 26 ms; the garbage that waits meanwhile is only cycles, a few MB.
THRESHOLDS = (10000, 20, 20)


def settle_after_start_up():
    """Keep the objects made at start-up out of garbage collection, and
    collect less often; call once the application is loaded.

    Without it a full collection walked every library object (GET p99/p50
    4.8 → 2.4 under cloudprefs-api), and a 1 MB write of 90,000 keys, whose
    parse allocates one tuple per key, spent 55% of its 300 ms in the
    collector. Requests make few reference cycles, so collections stay
    cheap without the start-up objects.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
