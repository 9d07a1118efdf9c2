"""The worker's end of the notification relay.

Each API worker hands its notifications to a relay process of its own
(:mod:`cloudprefs.notification_relay`), one JSON line per notification on
a non-blocking pipe: a few µs for the worker, where oslo.messaging would
spend ~300 µs of its CPU on each. The pipe is the bounded buffer: a write
that finds it full is dropped and counted, never waited for.
"""

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading

LOG = logging.getLogger(__name__)
RELAY_MODULE = 'cloudprefs.notification_relay'

# A write of at most PIPE_BUF bytes to a pipe is atomic: all or nothing.
MAX_LINE = 4096
# Linux lets a pipe hold this much (fs.pipe-max-size, 1 MiB by default):
# about three thousand notifications waiting for the relay.
F_SETPIPE_SZ = 1031
PIPE_SIZE = 1024 * 1024


def python_executable():
    """The Python interpreter of this installation. Under uwsgi or
    mod_wsgi ``sys.executable`` names the server's binary, not Python."""
    if os.path.basename(sys.executable or '').startswith('python'):
        return sys.executable
    for name in ('python3', 'python'):
        candidate = os.path.join(sys.prefix, 'bin', name)
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def _write_now(descriptor, data):
    """os.write, never waiting: eventlet's green os.write would wait for
    a full pipe to drain (holding the request), so under its monkey
    patching the original is used; the descriptor is non-blocking."""
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is not None and patcher.is_monkey_patched('os'):
        return patcher.original('os').write(descriptor, data)
    return os.write(descriptor, data)


class Relay:
    """The worker's end: starts the relay process (again, if it died)
    and writes each notification to its pipe without ever waiting."""

    def __init__(self, conf, publisher_id):
        self._command = [python_executable(), '-m', RELAY_MODULE,
                         '--publisher-id', publisher_id]
        for path in conf.config_file or []:
            self._command += ['--config-file', path]
        for path in conf.config_dir or []:
            self._command += ['--config-dir', path]
        self._process = None
        self._pid = None
        self._lock = threading.Lock()

    def send(self, context_dict, event_type, payload):
        """Hand one notification over: None when done, else the loss:
        ``dropped`` (the pipe is full) or ``failed`` (no relay)."""
        line = (json.dumps([context_dict, event_type, payload],
                           separators=(',', ':'), default=str)
                + '\n').encode('utf-8')
        if len(line) > MAX_LINE:
            return 'failed'
        try:
            descriptor = self._descriptor()
            _write_now(descriptor, line)
        except BlockingIOError:
            return 'dropped'
        except OSError:
            self._process = None        # gone: start another next time
            return 'failed'
        return None

    def _descriptor(self):
        process = self._process
        if (process is None or self._pid != os.getpid()
                or process.poll() is not None):
            with self._lock:
                process = self._start()
        return process.stdin.fileno()

    def _start(self):
        if self._process is not None and self._pid == os.getpid():
            try:
                self._process.stdin.close()
            except OSError:
                pass
            self._process.poll()
        # The relay logs where this process logs (its configuration).
        process = subprocess.Popen(self._command, stdin=subprocess.PIPE,
                                   close_fds=True)
        descriptor = process.stdin.fileno()
        try:
            fcntl.fcntl(descriptor, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass            # the default 64 KiB pipe still works
        os.set_blocking(descriptor, False)
        self._process, self._pid = process, os.getpid()
        LOG.info('Started notification relay %d', process.pid)
        return process
