"""The notification relay: sends a worker's notifications from a process
of its own.

oslo.messaging's RabbitMQ driver waits for the broker to confirm every
message and costs about 300 µs of CPU per notification (measured with
``tools/benchmark.py --notifications``): in the API worker, whose one
thread also serves the requests, that is a third of a write's cost, and
a busy worker could send only a fraction of its notifications. So each
API worker starts this relay as a child process and hands it every
notification as one line of JSON on a pipe (a few µs; the worker's end
is :mod:`cloudprefs.notifications.pipe`); the relay sends them with
oslo.messaging.

    python -m cloudprefs.notifications.relay --publisher-id ID \\
        [--config-file FILE ...]

It reads ``[ctx, event_type, payload]`` lines on standard input and exits
when the worker closes the pipe (the worker exited), after sending what
it holds.
"""

import argparse
import json
import logging
import os
import signal
import sys

from cloudprefs import notifications
from cloudprefs.service import startup

LOG = logging.getLogger(__name__)
# At exit, how long the relay goes on sending what it holds.
FLUSH_TIMEOUT = 10.0


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
    argv = sys.argv[1:] if argv is None else argv
    # Ctrl-C in a terminal reaches the whole process group: the relay
    # ends when its worker closes the pipe, after sending what it holds.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser()
    parser.add_argument('--publisher-id', required=True)
    args, config_args = parser.parse_known_args(argv)
    conf = startup.prepare_conf(config_args, command_line=False)
    # Requests first: on a busy machine the relay gets what is left, and
    # when that is not enough its pipe fills and the worker drops (and
    # counts) notifications instead of serving fewer requests.
    os.nice(conf.notifications.relay_niceness)
    sender = notifications.Notifications(conf,
                                         publisher_id=args.publisher_id)
    relay(sys.stdin.buffer, sender)
    sender.flush(timeout=FLUSH_TIMEOUT)
    sender.warn_if_lost()
    return 0


if __name__ == '__main__':
    sys.exit(main())
