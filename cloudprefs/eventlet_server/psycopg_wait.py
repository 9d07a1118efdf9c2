"""psycopg2's wait callback for cloudprefs-api: yield once, then wait.

Under eventlet, psycopg2 sends a query and calls a wait callback until
the answer has arrived. eventlet's own callback registers the connection
with the hub's epoll and switches away at once: two epoll_ctl system
calls and a listener per query, a large part of a primary-key SELECT on a
local server. This one first lets the other green threads run; when there
are any (the case under load), a local server's answer has usually
arrived by the time they are done, and the query needs no registration at
all. Otherwise it waits on the hub as eventlet's callback does, so a slow
query never blocks the process.
"""

import eventlet
import eventlet.hubs

try:
    import psycopg2
    from psycopg2 import extensions
except ImportError:     # no PostgreSQL support installed
    psycopg2 = extensions = None


def wait_yielding_first(connection, timeout=None):
    yielded = False
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            if not yielded:
                yielded = True
                eventlet.sleep(0)
                continue
            eventlet.hubs.trampoline(connection.fileno(), read=True)
        elif state == extensions.POLL_WRITE:
            eventlet.hubs.trampoline(connection.fileno(), write=True)
        else:
            raise psycopg2.OperationalError('Bad result from poll: %r'
                                            % state)


def install():
    """Use :func:`wait_yielding_first` for psycopg2, if it is installed."""
    if extensions is not None:
        extensions.set_wait_callback(wait_yielding_first)
