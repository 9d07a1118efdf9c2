"""eventlet's monkey patching, done once before anything else is imported.

eventlet must patch the standard library before any other module imports
socket, threading or the database clients, so :mod:`cloudprefs.cmd.api`
calls :func:`patch` first.
"""

import warnings


def patch():
    """Patch the standard library for green threads and make database
    waits green."""
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    import eventlet
    # Besides the standard library, this installs eventlet's wait callback
    # in psycopg2 (the same one psycogreen would): without it each
    # PostgreSQL query, a C call, would block every green thread of the
    # process. PyMySQL is pure Python and goes through the patched socket
    # module.
    eventlet.monkey_patch()
    from cloudprefs.eventlet_server import psycopg_wait
    # A wait callback that saves the hub registration when it can.
    psycopg_wait.install()
