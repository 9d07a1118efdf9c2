"""Waiting and yielding that are fair under eventlet and correct without.

cloudprefs-api runs every request of a process in a green thread of one
OS thread (eventlet); other WSGI servers run them in real threads. Code
that makes requests wait their turn or step aside uses these, which are
eventlet's own under its monkey patching and threading's otherwise.
"""

import sys
import threading
import time


def fair_semaphore(count):
    """A semaphore whose waiters are served first come, first served.

    Under eventlet, eventlet's own semaphore queues a newcomer behind the
    green threads already waiting; threading's (and SQLAlchemy's pool
    queue) lets it take what was just given back, and under a sustained
    load some waiters were passed over until their timeout (503s at 256
    clients on a pool of 32).
    """
    # Not imported, eventlet has patched nothing (and importing it would
    # only print its deprecation warning under another server).
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is not None and patcher.is_monkey_patched('thread'):
        from eventlet import semaphore
        return semaphore.BoundedSemaphore(count)
    return threading.BoundedSemaphore(count)


def step_aside():
    """Let every other runnable green thread (or thread) run first."""
    time.sleep(0)
