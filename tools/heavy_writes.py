#!/usr/bin/env python3
"""Clients writing key-heavy 1 MB containers, and what another user sees.

    tools/heavy_writes.py [--server cloudprefs-api|uwsgi] [--writers 1]
        [--keys 90000] [--reads 300] [--one-process]

Starts one node on a throw-away PostgreSQL database of the machine's
server, with its default options: cloudprefs-api (one worker per CPU) or
uwsgi with the shipped etc/cloudprefs/uwsgi.ini (from .wsgi-venv).
``--one-process`` runs a single worker or process instead, so that every
request meets the writes (the worst case). ``--writers`` clients PUT, one
after another, a container of ``--keys`` small integers (1 MB of compact
JSON for 90,000: parsing such a body allocates one object per key).
Meanwhile another user reads a small container ``--reads`` times, one
request at a time. Printed: that user's latency (p50, p99, max) and
failures, and the writes' rate and median time.

Run it from the repository with the test virtualenv
(tools/run-tests.sh makes it).
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import threading
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

import held_polls  # noqa: E402  (this directory, next to this script)


def start_node(kind, workdir, url, one_process):
    from tests.support import api_server
    from tests.support import uwsgi_server
    sections = {'DEFAULT': {'debug': 'false'}}
    if kind == 'uwsgi':
        overrides = {'processes': '1'} if one_process else {}
        return uwsgi_server.UwsgiServer(workdir, url, sections=sections,
                                        overrides=overrides).start()
    if one_process:
        sections['DEFAULT']['api_workers'] = '1'
    return api_server.ApiServer(workdir, url, sections=sections).start()


class Writers:
    """``count`` clients PUTting ``body`` to their own container."""

    def __init__(self, node, count, body):
        self.node, self.body = node, body
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.seconds, self.failures = [], 0
        self.threads = [threading.Thread(target=self._write, args=(index,),
                                         daemon=True)
                        for index in range(count)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)

    def _write(self, index):
        import requests
        session = requests.Session()
        headers = {'X-User-Id': 'writer-%d' % index}
        for number in itertools.count():
            if self.stopping.is_set():
                break
            # Each write changes the container (one that changes nothing
            # is not stored).
            body = b'{"n":%d,' % number + self.body[1:]
            started = time.monotonic()
            try:
                ok = session.put(self.node.url('/v1/heavy'), data=body,
                                 headers=headers, timeout=60).ok
            except requests.RequestException:
                ok = False
            with self.lock:
                if ok:
                    self.seconds.append(time.monotonic() - started)
                else:
                    self.failures += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--server', choices=('cloudprefs-api', 'uwsgi'),
                        default='cloudprefs-api')
    parser.add_argument('--writers', type=int, default=1)
    parser.add_argument('--keys', type=int, default=90000)
    parser.add_argument('--reads', type=int, default=300)
    parser.add_argument('--one-process', action='store_true')
    args = parser.parse_args(argv)

    body = json.dumps({'k%d' % key: key % 10 for key in range(args.keys)},
                      separators=(',', ':')).encode()
    with held_polls.node_on_a_new_database(
            lambda workdir, url: start_node(args.server, workdir, url,
                                            args.one_process),
            'cloudprefs-heavy-writes-') as node:
        writers = Writers(node, args.writers, body)
        writers.start()
        started = time.monotonic()
        try:
            latencies, failures = held_polls.read_meanwhile(node,
                                                            args.reads)
            elapsed = time.monotonic() - started
        finally:
            writers.stop()
        print('%s%s, %d writer(s) of %d keys (%d bytes):' % (
            args.server, ' (one process)' if args.one_process else '',
            args.writers, args.keys, len(body)))
        print(held_polls.describe_reads(latencies, failures))
        seconds = writers.seconds
        print('  writes: %d in %.1f s, median %.0f ms, %d failed' % (
            len(seconds), elapsed,
            statistics.median(seconds) * 1000 if seconds else 0.0,
            writers.failures))
    return 0


if __name__ == '__main__':
    sys.exit(main())
