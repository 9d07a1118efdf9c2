"""Idle long-polls held on a server while it is measured, and the wake-up
latency of a held long-poll."""

import os
import statistics
import subprocess
import sys
import time
import uuid

from benchmarking import poll_holder
from benchmarking import servers


# Seconds each idle long-poll asks to wait; asked again when answered.
LONG_POLL_WAIT = 10


class LongPolls:
    """``count`` idle long-polls held on the server while in the block."""

    def __init__(self, port, count):
        self.port, self.count = port, count
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, poll_holder.__file__, str(self.port),
             str(self.count), str(LONG_POLL_WAIT)],
            stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != 'holding':
            raise RuntimeError('the long-polls could not be opened')
        time.sleep(1)
        return self

    def __exit__(self, *exc_info):
        self.process.kill()
        self.process.wait()
        # The polls' places are free again: at once where the server sees
        # its clients hang up, when their wait ends where it cannot (uwsgi's
        # HTTP router with keep-alive stops reading from a client whose
        # request it passed on).
        time.sleep(LONG_POLL_WAIT + 1)


def run_wakeups(workdir, connection, auth, keystone_sections, options, api,
                samples, cleanups, other=None, label='cloudprefs-api'):
    """Wake-up latency of a long-poll held by ``api`` (``label``): from a
    write's 204 to the held request's answer, the write made through the
    same server and through ``other`` (by default a second cloudprefs-api
    process) on the same database."""
    import concurrent.futures
    import requests
    if other is None:
        other_dir = os.path.join(workdir, 'other')
        os.makedirs(other_dir)
        other = servers.start_api(other_dir, connection, auth,
                                  keystone_sections, options)
        cleanups.append(other.stop)
    headers = {'X-User-Id': 'wakeup-%s' % uuid.uuid4().hex}
    waiting, writing = requests.Session(), requests.Session()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        for kind, writer in (('same process', api), ('other process', other)):
            latencies = []
            for index in range(samples):
                cursor = waiting.get(api.url('/v1'), headers=headers,
                                     timeout=30).headers['X-Cursor']
                held = pool.submit(
                    waiting.get, api.url('/v1'), headers=headers,
                    params={'since': cursor, 'wait': 30}, timeout=60)
                time.sleep(0.2)     # let the request be held
                written = writing.post(writer.url('/v1/c/k'),
                                       headers=headers, data=str(index),
                                       timeout=30)
                acknowledged = time.monotonic()
                answer = held.result()
                woken = time.monotonic()
                assert written.status_code == 204
                assert answer.json()['changes'], answer.text
                latencies.append((woken - acknowledged) * 1000)
            latencies.sort()
            row = {'p50_ms': statistics.median(latencies),
                   'p99_ms': latencies[min(len(latencies) - 1,
                                           int(len(latencies) * 0.99))],
                   'max_ms': latencies[-1], 'samples': samples}
            results[kind] = row
            print('long-poll held by %s, wake-up after a write through the '
                  '%s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d samples)'
                  % (label, kind, row['p50_ms'], row['p99_ms'],
                     row['max_ms'], samples))
    return results
