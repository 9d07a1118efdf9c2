#!/usr/bin/env python3
"""Hostile clients against cloudprefs-api, with the figures they cause.

    tools/hostile_load.py lockout [--workers 2] [--idle 2000] [--slow 500]
        [--seconds 20]
    tools/hostile_load.py large [--workers 2] [--hammer 8] [--seconds 20]
        [--size BYTES]

Both start cloudprefs-api with its default options (embedded SQLite,
noauth, ``--workers`` worker processes) and print what another, ordinary
client sees meanwhile.

lockout: one client opens ``--idle`` connections that send nothing and
``--slow`` that send a request head a byte a second, and keeps them open;
another client sends requests (a new connection each) for ``--seconds``.
Printed: the other client's latency (p50, p99, max) and failures, and how
long the hostile connections lived before the server closed them.

large: ``--hammer`` clients write to and read (whole) one user's
container of ``--size`` bytes (the largest the default options allow);
another user reads one path of a small container, one request at a time.
Printed: that user's latency, and the hammering clients' request rate.

Run it from the repository with the test virtualenv
(tools/run-tests.sh makes it).
"""

import argparse
import json
import os
import random
import resource
import selectors
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)


def start_server(workdir, workers, sections=None):
    from tests.support import api_server
    options = {'DEFAULT': {'api_workers': str(workers), 'debug': 'false'}}
    for section, values in (sections or {}).items():
        options.setdefault(section, {}).update(values)
    return api_server.ApiServer(workdir, None, sections=options).start()


def percentiles(values):
    values = sorted(values)
    if not values:
        return {'count': 0}
    return {'count': len(values), 'p50': statistics.median(values),
            'p99': values[min(len(values) - 1, int(len(values) * 0.99))],
            'max': values[-1]}


def print_latency(label, row, unit='ms', scale=1000.0):
    if not row.get('count'):
        print('%-34s none' % label)
        return
    print('%-34s %6d   p50 %8.1f %s   p99 %8.1f %s   max %8.1f %s' % (
        label, row['count'], row['p50'] * scale, unit, row['p99'] * scale,
        unit, row['max'] * scale, unit))


# lockout -------------------------------------------------------------------

def run_lockout(args, server):
    import requests
    hostile = {}    # socket -> [opened at, slow?, closed at]
    started = time.monotonic()
    for number in range(args.idle + args.slow):
        sock = socket.socket()
        sock.setblocking(True)
        try:
            sock.connect(('127.0.0.1', server.port))
        except OSError as error:
            print('could not open hostile connection %d: %s'
                  % (number, error))
            sock.close()
            break
        slow = number >= args.idle
        if slow:
            sock.sendall(b'GET /v1 HTTP/1.1\r\nHost: x\r\n')
        sock.setblocking(False)
        hostile[sock] = [time.monotonic(), slow, None]
    print('opened %d hostile connections (%d idle, %d slow) in %.1f s'
          % (len(hostile), sum(not h[1] for h in hostile.values()),
             sum(h[1] for h in hostile.values()),
             time.monotonic() - started))

    stop = threading.Event()

    def keep_hostile():
        # epoll: select() takes no descriptor past 1023.
        watch = selectors.DefaultSelector()
        for sock in hostile:
            watch.register(sock, selectors.EVENT_READ)
        last_byte = 0.0
        while not stop.is_set():
            now = time.monotonic()
            for key, _events in watch.select(timeout=0.2):
                sock = key.fileobj
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b''
                if not data:
                    hostile[sock][2] = time.monotonic()
                    watch.unregister(sock)
            if now - last_byte >= 1.0:
                last_byte = now
                for sock, state in hostile.items():
                    if state[1] and state[2] is None:
                        try:
                            sock.send(b'X')
                        except OSError:
                            state[2] = now

    keeper = threading.Thread(target=keep_hostile, daemon=True)
    keeper.start()
    latencies, failures = [], []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        begun = time.monotonic()
        try:
            response = requests.get(server.url('/v1'), timeout=30,
                                    headers={'X-User-Id': 'ordinary'})
            response.raise_for_status()
            latencies.append(time.monotonic() - begun)
        except Exception as error:   # a figure to print, not to stop on
            failures.append(repr(error)[:100])
        time.sleep(0.02)
    # Give the hostile ones the head deadline to be closed.
    deadline = time.monotonic() + 20
    while (any(h[2] is None for h in hostile.values())
           and time.monotonic() < deadline):
        time.sleep(0.2)
    stop.set()
    keeper.join()
    print_latency('other client, GET /v1', percentiles(latencies))
    print('other client failures: %d%s' % (
        len(failures), (' (%s)' % failures[0]) if failures else ''))
    for slow, label in ((False, 'idle'), (True, 'slow-head')):
        lives = [h[2] - h[0] for h in hostile.values()
                 if h[1] == slow and h[2] is not None]
        still = sum(1 for h in hostile.values()
                    if h[1] == slow and h[2] is None)
        print_latency('%s connections closed after' % label,
                      percentiles(lives), unit='s', scale=1.0)
        print('%s connections still open at the end: %d' % (label, still))
    for sock in hostile:
        sock.close()
    return {'other_client': percentiles(latencies),
            'failures': len(failures)}


# large ---------------------------------------------------------------------

def seed_container(session, server, user, size):
    member = {'name': 'item', 'tags': ['a', 'b', 'c'], 'n': 0,
              'note': 'x' * 120}
    per_member = len(json.dumps({'k00000': member},
                                separators=(',', ':'))) - 1
    members = max(1, int(size * 0.97) // per_member)
    batch = {}
    for index in range(members):
        batch['k%05d' % index] = dict(member, n=index)
        if len(batch) == 2000 or index == members - 1:
            session.post(server.url('/v1/big'), data=json.dumps(batch),
                         headers={'X-User-Id': user},
                         timeout=120).raise_for_status()
            batch = {}
    stored = session.get(server.url('/v1/big'), headers={'X-User-Id': user},
                         timeout=120)
    stored.raise_for_status()
    return members, len(stored.content)


def run_large(args, server):
    import requests
    session = requests.Session()
    members, size = seed_container(session, server, 'heavy', args.size)
    print('seeded a container of %d objects, %d bytes' % (members, size))
    session.post(server.url('/v1/small/k'), data='"v"',
                 headers={'X-User-Id': 'ordinary'}).raise_for_status()
    stop = threading.Event()
    hammered = []

    def hammer(number):
        own = requests.Session()
        headers = {'X-User-Id': 'heavy'}
        while not stop.is_set():
            if number % 2:
                own.get(server.url('/v1/big'), headers=headers, timeout=120)
            else:
                own.post(server.url('/v1/big/k%05d/n'
                                    % random.randrange(members)),
                         data=str(random.randrange(10 ** 6)),
                         headers=headers, timeout=120)
            hammered.append(time.monotonic())

    threads = [threading.Thread(target=hammer, args=(number,), daemon=True)
               for number in range(args.hammer)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    latencies = []
    began = time.monotonic()
    deadline = began + args.seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        response = session.get(server.url('/v1/small/k'),
                               headers={'X-User-Id': 'ordinary'}, timeout=60)
        response.raise_for_status()
        latencies.append(time.monotonic() - started)
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    during = [t for t in hammered if began <= t <= deadline]
    print_latency('other user, GET /v1/small/k', percentiles(latencies))
    print('hammering clients: %.1f requests/s (half writes, half whole '
          'reads)' % (len(during) / args.seconds))
    return {'other_user': percentiles(latencies),
            'hammer_rate': len(during) / args.seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('scenario', choices=['lockout', 'large'])
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--idle', type=int, default=2000)
    parser.add_argument('--slow', type=int, default=500)
    parser.add_argument('--hammer', type=int, default=8)
    parser.add_argument('--size', type=int, default=1024 * 1024,
                        help='bytes of the hammered container (the default '
                             '[api] max_container_size)')
    parser.add_argument('--seconds', type=int, default=20)
    parser.add_argument('--set', action='append', default=[],
                        metavar='SECTION.OPTION=VALUE')
    args = parser.parse_args(argv)
    # Thousands of sockets, in this process and (inherited) the server's.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sections = {}
    for assignment in args.set:
        name, _, value = assignment.partition('=')
        section, _, option = name.rpartition('.')
        sections.setdefault(section, {})[option] = value
    workdir = tempfile.mkdtemp(prefix='cloudprefs-hostile-')
    server = start_server(workdir, args.workers, sections)
    try:
        print('cloudprefs-api, %d workers, %s' % (
            args.workers, ', '.join(args.set) or 'default options'))
        if args.scenario == 'lockout':
            run_lockout(args, server)
        else:
            run_large(args, server)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
