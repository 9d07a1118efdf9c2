"""Lines longer than PIPE_BUF reach the relay whole."""

import fcntl
import json
import os
import select
import threading
import time

from cloudprefs.notifications import pipe as notification_pipe


class PipeRelay(notification_pipe.Relay):
    """The worker's end writing to a small pipe of the test's own."""

    def __init__(self, write_end):
        self._lock = threading.Lock()
        self._rest = b''
        self._finishing = None
        self._write_end = write_end

    def _descriptor(self):
        return self._write_end


def _small_pipe():
    read_end, write_end = os.pipe()
    # The smallest pipe Linux makes: one page, PIPE_BUF.
    fcntl.fcntl(write_end, notification_pipe.F_SETPIPE_SZ, 4096)
    os.set_blocking(write_end, False)
    return read_end, write_end


def _read_lines(read_end, count, pause):
    """What a slow relay reads: ``count`` whole lines."""
    data = b''
    deadline = time.monotonic() + 30
    while data.count(b'\n') < count and time.monotonic() < deadline:
        if select.select([read_end], [], [], 0.5)[0]:
            data += os.read(read_end, 1000)
            time.sleep(pause)
    return data.split(b'\n')[:count]


def test_a_notification_over_pipe_buf_arrives_whole_and_first():
    read_end, write_end = _small_pipe()
    try:
        relay = PipeRelay(write_end)
        big = {'value': 'x' * 20000}
        assert relay.send({}, 'cloudprefs.container.update', big) is None
        # Written in part; the rest goes before any other line, so a
        # notification meanwhile is dropped rather than mixed in.
        assert relay._rest
        assert relay.send({}, 'cloudprefs.container.update',
                          {'n': 1}) == 'dropped'
        lines = _read_lines(read_end, 1, 0.01)
        assert json.loads(lines[0])[2] == big
        # The rest written, lines go on as usual.
        deadline = time.monotonic() + 10
        while relay._rest and time.monotonic() < deadline:
            time.sleep(0.05)
        assert relay.send({}, 'cloudprefs.container.delete',
                          {'n': 2}) is None
        assert json.loads(_read_lines(read_end, 1, 0)[0])[2] == {'n': 2}
    finally:
        os.close(read_end)
        os.close(write_end)
