"""The notification relay: sends a worker's notifications from a process
of its own.

oslo.messaging's RabbitMQ driver waits for the broker to confirm every
message and costs about 300 µs of CPU per notification (measured with
``tools/benchmark.py --notifications``): in the API worker, whose one
thread also serves the requests, that is a third of a write's cost, and
a busy worker could send only a fraction of its notifications. So each
API worker starts this relay as a child process and hands it every
notification as one line of JSON on a pipe (a few µs); the relay sends
them with oslo.messaging. The pipe is the bounded buffer: a write that
finds it full is dropped and counted by the worker, never waited for.

    python -m cloudprefs.notification_relay --publisher-id ID \\
        [--config-file FILE ...]

It reads ``[ctx, event_type, payload]`` lines on standard input and exits
when the worker closes the pipe (the worker exited), after sending what
it holds.
"""

import argparse
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading

LOG = logging.getLogger(__name__)
# At exit, how long the relay goes on sending what it holds.
FLUSH_TIMEOUT = 10.0

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
        self._command = [python_executable(), '-m', __name__,
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


def relay(lines, sender):
    """Queue every notification of ``lines`` on ``sender``."""
    for line in lines:
        try:
            context_dict, event_type, payload = json.loads(line)
        except ValueError:
            LOG.warning('Ignoring a line that is not a notification')
            continue
        sender.emit(context_dict, event_type, payload)


def main(argv=None):
    from cloudprefs import notifications
    from cloudprefs import service
    argv = sys.argv[1:] if argv is None else argv
    # Ctrl-C in a terminal reaches the whole process group: the relay
    # ends when its worker closes the pipe, after sending what it holds.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser()
    parser.add_argument('--publisher-id', required=True)
    args, config_args = parser.parse_known_args(argv)
    conf = service.prepare_conf(config_args, command_line=False)
    # Requests first: on a busy machine the relay gets what is left, and
    # when that is not enough its pipe fills and the worker drops (and
    # counts) notifications instead of serving fewer requests.
    os.nice(conf.notifications.relay_niceness)
    sender = notifications.Notifications(conf)
    sender.publisher_id = args.publisher_id
    sender.rebuild_notifier()
    relay(sys.stdin.buffer, sender)
    sender.flush(timeout=FLUSH_TIMEOUT)
    sender.warn_if_lost()
    return 0


if __name__ == '__main__':
    sys.exit(main())
