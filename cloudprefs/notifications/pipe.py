"""The worker's end of the notification relay.

Each API worker hands its notifications to a relay process of its own
(:mod:`cloudprefs.notifications.relay`), one JSON line per notification on
a non-blocking pipe: a few µs for the worker, where oslo.messaging would
spend ~300 µs of its CPU on each. The pipe is the bounded buffer: a
notification that finds it full is dropped and counted, never waited
for.

A line is never cut: the relay reads whole lines only. A write of more
than ``PIPE_BUF`` bytes may be taken in part when the pipe is nearly
full; the rest of that line then goes before any other line, as room
comes (a thread of the worker's waits for the room), and notifications
that come meanwhile are dropped like those that find the pipe full.
"""

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time

LOG = logging.getLogger(__name__)
RELAY_MODULE = 'cloudprefs.notifications.relay'

# Linux lets a pipe hold this much (fs.pipe-max-size, 1 MiB by default):
# about three thousand notifications waiting for the relay.
F_SETPIPE_SZ = 1031
PIPE_SIZE = 1024 * 1024
# Seconds between two attempts to write the rest of a line.
REST_RETRY_INTERVAL = 0.05


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
    """Write what the non-blocking pipe takes now; how many bytes.

    os.writev, not os.write: under eventlet's monkey patching (in
    cloudprefs-api) os.write is green and would wait for a full pipe to
    drain, holding the request; writev is left as it is."""
    return os.writev(descriptor, [data])


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
        # One writer at a time: the lines of two threads never mix.
        self._lock = threading.Lock()
        self._rest = b''        # of a line the pipe took only in part
        self._finishing = None  # the thread that writes that rest

    def send(self, context_dict, event_type, payload):
        """Hand one notification over: None when done, else the loss:
        ``dropped`` (the pipe is full) or ``failed`` (no relay)."""
        line = (json.dumps([context_dict, event_type, payload],
                           separators=(',', ':'), default=str)
                + '\n').encode('utf-8')
        with self._lock:
            try:
                descriptor = self._descriptor()
                if self._rest and not self._write_rest(descriptor):
                    return 'dropped'
                written = _write_now(descriptor, line)
            except BlockingIOError:
                return 'dropped'
            except OSError:
                self._process = None        # gone: start another next time
                return 'failed'
            if written < len(line):
                self._rest = line[written:]
                self._finish_in_background()
        return None

    def _write_rest(self, descriptor):
        """Write what the pipe takes of the line begun; whether it is
        complete. Called with the lock held."""
        written = _write_now(descriptor, self._rest)
        self._rest = self._rest[written:]
        return not self._rest

    def _finish_in_background(self):
        if self._finishing is None or not self._finishing.is_alive():
            self._finishing = threading.Thread(
                target=self._finish_rest, name='notification-rest',
                daemon=True)
            self._finishing.start()

    def _finish_rest(self):
        while True:
            time.sleep(REST_RETRY_INTERVAL)
            with self._lock:
                if not self._rest:
                    return
                try:
                    if self._write_rest(self._descriptor()):
                        return
                except BlockingIOError:
                    continue
                except OSError:
                    # The relay is gone, and the line with it.
                    self._rest = b''
                    self._process = None
                    return

    def _descriptor(self):
        process = self._process
        if (process is None or self._pid != os.getpid()
                or process.poll() is not None):
            # A new pipe: the rest of a line begun on the old one would
            # be the start of a broken line on this one.
            self._rest = b''
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
