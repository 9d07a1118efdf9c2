"""What the application needs to know of uwsgi, its threaded server.

Under uwsgi every request, a held long-poll or watch included, has a
thread of its worker to itself. Three things follow, which uwsgi does not
tell the application by itself and this module finds out:

* how many requests a worker may hold (``[changes]
  max_waiting_per_worker``): three quarters of its threads, so that held
  requests never take every thread (:func:`apply_defaults`);
* how long one may be held: below ``harakiri``, which would kill the
  worker under a request that outlives it;
* when the worker stops or reloads, so that held requests are answered at
  once instead of keeping the worker (and a rolling restart) waiting for
  them (:class:`StopWatch`).
"""

import logging
import os
import select
import threading
import time

from cloudprefs.api import request as api_request
from cloudprefs.api import waiting

try:
    import uwsgi
except ImportError:     # not under uwsgi
    uwsgi = None

LOG = logging.getLogger(__name__)
# One line per request (the shipped uwsgi.ini turns uwsgi's own off: it
# writes the request line as the client sent it, control characters and
# all). Through the service's logging, whose filter escapes them.
ACCESS_LOG = logging.getLogger('cloudprefs.access')

# Seconds a held request ends before uwsgi's harakiri would kill it.
HARAKIRI_MARGIN = 10
# A body the application refused unread is read and thrown away up to
# this size (see UnreadBody); past it the connection is simply closed.
# Above the shipped ini's limit-post (1 MiB), which uwsgi refuses itself.
DISCARD_LIMIT = 4 * 1024 * 1024
DISCARD_CHUNK = 64 * 1024


def running():
    return uwsgi is not None


def _option(name, default):
    value = uwsgi.opt.get(name, default)
    if isinstance(value, list):      # an option given several times
        value = value[-1]
    if isinstance(value, bytes):
        value = value.decode()
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def threads():
    """Threads of each worker (uwsgi's ``threads``; 1 when not set)."""
    return max(1, _option('threads', 1))


def apply_defaults(conf):
    """Bound held requests by this server's threads and harakiri."""
    conf.set_default('max_waiting_per_worker', waiting.holds_for(threads()),
                     group='changes')
    harakiri = _option('harakiri', 0)
    if harakiri and conf.changes.max_wait > harakiri - HARAKIRI_MARGIN:
        longest = max(0, harakiri - HARAKIRI_MARGIN)
        LOG.warning('[changes] max_wait = %d s would let a held request '
                    'meet uwsgi\'s harakiri (%d s): requests are held %d s '
                    'at most', conf.changes.max_wait, harakiri, longest)
        conf.set_override('max_wait', longest, group='changes')


class StopWatch:
    """Answers the held requests of a worker as soon as uwsgi stops or
    reloads it.

    A worker told to stop gracefully (SIGHUP from the master: ``uwsgi
    --reload``, a graceful shutdown, ``max-requests``) takes no more
    requests and waits for those in flight, held ones included, up to
    ``worker-reload-mercy``. uwsgi tells the application nothing; but in
    a threaded worker it wakes its idle threads by closing the write end
    of a pipe the worker makes for that purpose, and that is visible: the
    read end reports a hang-up. This watch finds that pipe (the one pipe
    whose two ends the worker holds) once the worker serves, and waits on
    it in a thread of its own.
    """

    def __init__(self):
        self.started = False
        self._lock = threading.Lock()

    def start_once(self):
        """Start watching, in the worker (after uwsgi's fork)."""
        with self._lock:
            if self.started:
                return
            self.started = True
        read_end = _stop_pipe()
        if read_end is None:
            LOG.info('Cannot tell when uwsgi stops this worker (no stop '
                     'pipe; threads = 1?): held requests wait out their '
                     'time when it does')
            return
        threading.Thread(target=self._watch, args=(read_end,),
                         name='uwsgi-stop-watch', daemon=True).start()

    @staticmethod
    def _watch(read_end):
        poller = select.poll()
        poller.register(read_end, select.POLLIN | select.POLLHUP)
        while True:
            try:
                if poller.poll():
                    break
            except InterruptedError:
                continue
        LOG.info('uwsgi is stopping this worker: answering held requests')
        waiting.release_all()


def _stop_pipe():
    """The read end of the pipe uwsgi closes to stop a threaded worker:
    the one pipe both ends of which this process holds; None when there
    is not exactly one."""
    ends = {}       # pipe inode -> {access mode: fd}
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        try:
            target = os.readlink('/proc/self/fd/%d' % fd)
            if not target.startswith('pipe:'):
                continue
            with open('/proc/self/fdinfo/%d' % fd) as info:
                flags = next(int(line.split()[1], 8) for line in info
                             if line.startswith('flags:'))
        except (OSError, StopIteration, ValueError):
            continue
        ends.setdefault(target, {})[flags & os.O_ACCMODE] = fd
    both = [modes[os.O_RDONLY] for modes in ends.values()
            if os.O_RDONLY in modes and os.O_WRONLY in modes]
    return both[0] if len(both) == 1 else None


class UnreadBody:
    """``wsgi.input`` counting what the application reads, so that what it
    left unread can be thrown away before the answer.

    A request refused before its body is read (413, 400, 401...) would
    otherwise end with the worker closing a connection the rest of the
    body is still arriving on; the kernel answers such data with a reset,
    and a reset can reach the client before it has read its answer
    (uwsgi's router passes it on). cloudprefs-api's eventlet server, like
    most HTTP servers, reads the rest itself; uwsgi does not.
    """

    def __init__(self, stream, length):
        self._stream = stream
        self._left = length

    def _count(self, data):
        self._left -= len(data)
        return data

    def read(self, *args):
        return self._count(self._stream.read(*args))

    def readline(self, *args):
        return self._count(self._stream.readline(*args))

    def readlines(self, *args):
        lines = self._stream.readlines(*args)
        for line in lines:
            self._count(line)
        return lines

    def __iter__(self):
        return iter(self.readline, b'')

    def discard(self):
        """Read what is left, when there is not too much of it."""
        if not 0 < self._left <= DISCARD_LIMIT:
            return
        try:
            while self._left > 0:
                if not self.read(min(self._left, DISCARD_CHUNK)):
                    return
        except OSError as error:    # the client went away: nothing to do
            LOG.debug('Could not read the rest of a refused body: %s', error)

    @classmethod
    def wrap(cls, environ):
        """Wrap the request's input; None when there is no body to read
        or the client waits for 100 Continue before sending it."""
        try:
            length = int(environ.get('CONTENT_LENGTH') or 0)
        except ValueError:
            return None
        if length <= 0 or '100-continue' in environ.get('HTTP_EXPECT', ''):
            return None
        body = cls(environ['wsgi.input'], length)
        environ['wsgi.input'] = body
        return body


class Application:
    """The WSGI application as uwsgi serves it: each request can find its
    connection (held requests watch it for the client hanging up), is
    logged, has what it left of its body read (:class:`UnreadBody`), and
    the worker's first request starts the :class:`StopWatch`.
    """

    def __init__(self, app):
        self._app = app
        self._stop_watch = StopWatch()

    def __call__(self, environ, start_response):
        if not self._stop_watch.started:
            self._stop_watch.start_once()
        # uwsgi's own function: the fd of the calling thread's request.
        environ[api_request.CONNECTION_FD_KEY] = uwsgi.connection_fd
        started = time.monotonic()

        def logging_start_response(status, headers, exc_info=None):
            ACCESS_LOG.info('%s "%s %s %s" status: %s time: %.4f',
                            environ.get('REMOTE_ADDR', '-'),
                            environ.get('REQUEST_METHOD', ''),
                            environ.get('REQUEST_URI', ''),
                            environ.get('SERVER_PROTOCOL', ''),
                            status.split(' ', 1)[0],
                            time.monotonic() - started)
            return start_response(status, headers, exc_info)

        body = UnreadBody.wrap(environ)
        answer = self._app(environ, logging_start_response)
        if body is not None:
            body.discard()
        return answer
