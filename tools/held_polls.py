#!/usr/bin/env python3
"""Many devices long-polling one node, and what another user sees.

    tools/held_polls.py [--server uwsgi|cloudprefs-api] [--devices 200]
        [--wait 30] [--reads 300]

Starts one node on a throw-away PostgreSQL database of the machine's
server: uwsgi with the shipped etc/cloudprefs/uwsgi.ini as it is (from
.wsgi-venv), or cloudprefs-api with four workers. ``--devices`` clients,
one user each, follow their change feeds (``GET /v1?since=0&wait=``),
asking again when answered, after ``Retry-After`` when the node would not
hold them (as the client library does). Meanwhile another user reads a
container ``--reads`` times, one request at a time. Printed: that user's
latency (p50, p99, max) and failures, and how the polls were answered
(held, or refused with Retry-After, and how fast a refusal came).

Run it from the repository with the test virtualenv
(tools/run-tests.sh makes it).
"""

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)


@contextlib.contextmanager
def node_on_a_new_database(start, prefix):
    """The node ``start(workdir, url)`` starts on a throw-away PostgreSQL
    database of the machine's server, migrated; stopped and the database
    dropped afterwards."""
    from tests.functional.conftest import db_sync
    from tests.support import sqlservers
    url = sqlservers.create_database('postgresql')
    node = None
    try:
        workdir = tempfile.mkdtemp(prefix=prefix)
        db_sync(url, workdir)
        node = start(workdir, url)
        yield node
    finally:
        if node is not None:
            node.stop()
        sqlservers.drop_database('postgresql', url)


def start_node(kind, workdir, url):
    from tests.support import api_server
    from tests.support import uwsgi_server
    sections = {'DEFAULT': {'debug': 'false'}}
    if kind == 'uwsgi':
        # The shipped ini as it is: no override of processes or threads.
        return uwsgi_server.UwsgiServer(workdir, url, sections=sections,
                                        overrides={}).start()
    sections['DEFAULT']['api_workers'] = '4'
    return api_server.ApiServer(workdir, url, sections=sections).start()


class Devices:
    """``count`` followers of their own feeds, in threads."""

    def __init__(self, node, count, wait):
        self.node, self.count, self.wait = node, count, wait
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.held = self.refused = self.errors = 0
        self.refusal_seconds = []
        self.threads = [threading.Thread(target=self._follow, args=(index,),
                                         daemon=True)
                        for index in range(count)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()

    def _follow(self, index):
        import requests
        session = requests.Session()
        headers = {'X-User-Id': 'device-%d' % index}
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                response = session.get(
                    self.node.url('/v1'), headers=headers,
                    params={'since': '0', 'wait': str(self.wait)},
                    timeout=self.wait + 30)
            except requests.RequestException:
                with self.lock:
                    self.errors += 1
                self.stopping.wait(1)
                continue
            retry_after = response.headers.get('Retry-After')
            with self.lock:
                if response.status_code != 200:
                    self.errors += 1
                elif retry_after is None:
                    self.held += 1
                else:
                    self.refused += 1
                    self.refusal_seconds.append(time.monotonic() - started)
            if retry_after is not None:
                self.stopping.wait(int(retry_after))


def read_meanwhile(node, count):
    """Another user's reads: (sorted latencies in ms, failures)."""
    import requests
    session = requests.Session()
    headers = {'X-User-Id': 'other-user'}
    session.post(node.url('/v1/settings'), data='{"a": 1}', headers=headers,
                 timeout=30).raise_for_status()
    latencies, failures = [], 0
    for _ in range(count):
        started = time.monotonic()
        try:
            if session.get(node.url('/v1/settings'), headers=headers,
                           timeout=30).status_code != 200:
                failures += 1
        except requests.RequestException:
            failures += 1
        latencies.append((time.monotonic() - started) * 1000)
        time.sleep(0.02)
    return sorted(latencies), failures


def describe_reads(latencies, failures):
    """One line on another user's reads (from :func:`read_meanwhile`)."""
    return ('  another user\'s %d GETs: p50 %.1f ms, p99 %.1f ms, max %.1f '
            'ms, %d failed' % (
                len(latencies), latencies[len(latencies) // 2],
                latencies[min(len(latencies) - 1,
                              int(len(latencies) * 0.99))],
                latencies[-1], failures))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--server', choices=('uwsgi', 'cloudprefs-api'),
                        default='uwsgi')
    parser.add_argument('--devices', type=int, default=200)
    parser.add_argument('--wait', type=int, default=30)
    parser.add_argument('--reads', type=int, default=300)
    args = parser.parse_args(argv)

    with node_on_a_new_database(
            lambda workdir, url: start_node(args.server, workdir, url),
            'cloudprefs-held-polls-') as node:
        devices = Devices(node, args.devices, args.wait)
        devices.start()
        try:
            time.sleep(3)       # every device has asked once
            latencies, failures = read_meanwhile(node, args.reads)
        finally:
            devices.stop()
        with devices.lock:
            refusals = sorted(devices.refusal_seconds)
            print('%s, %d devices long-polling (wait=%d):' % (
                args.server, args.devices, args.wait))
            print(describe_reads(latencies, failures))
            print('  polls answered after being held: %d; refused with '
                  'Retry-After: %d (slowest refusal %.2f s); errors: %d' % (
                      devices.held, devices.refused,
                      refusals[-1] if refusals else 0.0, devices.errors))
    return 0


if __name__ == '__main__':
    sys.exit(main())
