"""Measuring a server: wrk runs, and the server's CPU time, memory and
database connections around them."""

import os
import re
import shutil
import subprocess
import sys

from benchmarking import workloads


def ensure_wrk():
    if shutil.which('wrk'):
        return
    print('installing wrk with apt-get', file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ['sudo']
    subprocess.run(sudo + ['apt-get', 'install', '-y', '-qq', 'wrk'],
                   check=True)


def _milliseconds(text):
    number, unit = re.match(r'([\d.]+)(us|ms|s|m)', text).groups()
    return float(number) * {'us': 0.001, 'ms': 1.0, 's': 1000.0,
                            'm': 60000.0}[unit]


def _percentile_ms(output, percent):
    # The "Latency Distribution" lines, not the "+/- Stdev" percentages.
    match = re.search(r'(?m)^\s+%d%%\s+(\d\S*)\s*$' % percent, output)
    if match is None:
        raise ValueError('no %d%% latency in the output of wrk:\n%s'
                         % (percent, output))
    return _milliseconds(match.group(1))


def run_wrk(url, script, connections, duration, env):
    try:
        return _run_wrk_once(url, script, connections, duration, env)
    except ValueError as error:
        # Seen once in a long run; the output tells why. One more try.
        print(error, file=sys.stderr)
        return _run_wrk_once(url, script, connections, duration, env)


def _run_wrk_once(url, script, connections, duration, env):
    output = subprocess.run(
        ['wrk', '-t1', '-c%d' % connections, '-d%ds' % duration, '--latency',
         '-s', os.path.join(workloads.LUA_DIR, script), url],
        capture_output=True, text=True, check=True, env=env,
        timeout=duration + 60).stdout
    result = {
        'requests_per_second': float(re.search(
            r'Requests/sec:\s+([\d.]+)', output).group(1)),
        'requests': int(re.search(r'(\d+) requests in', output).group(1)),
        'p50_ms': _percentile_ms(output, 50),
        'p99_ms': _percentile_ms(output, 99),
    }
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    errors = re.search(r'Socket errors: (.*)', output)
    result['non_2xx'] = int(non_2xx.group(1)) if non_2xx else 0
    result['socket_errors'] = errors.group(1) if errors else ''
    return result


class Measured:
    """A server process whose CPU time and peak RSS are read around runs.

    ``tree``: count its child processes too (uwsgi: master, workers and
    HTTP router); the peak RSS is then their sum.
    """

    def __init__(self, pid, tree=False):
        import psutil
        self.process = psutil.Process(pid)
        self.tree = tree

    def _processes(self):
        if not self.tree:
            return [self.process]
        return [self.process] + self.process.children(recursive=True)

    def cpu_seconds(self):
        total = 0.0
        for process in self._processes():
            times = process.cpu_times()
            total += times.user + times.system
        return total

    def peak_rss_mb(self):
        total = None
        for process in self._processes():
            try:
                with open('/proc/%d/status' % process.pid) as status:
                    for line in status:
                        if line.startswith('VmHWM:'):
                            kilobytes = int(line.split()[1])
                            total = (total or 0) + kilobytes / 1024.0
            except FileNotFoundError:
                continue
        return total

    def rss_mb(self):
        return self.process.memory_info().rss / 1048576.0


def measure(target, url, script, connections, duration, env, counter):
    """One wrk run against ``target``; ``counter`` counts the database
    connections opened so far (see :class:`ConnectionCounter`)."""
    opened_before = counter.opened()
    cpu_before = target.cpu_seconds()
    result = run_wrk(url, script, connections, duration, env)
    cpu = target.cpu_seconds() - cpu_before
    result['server_cpu_us_per_request'] = (
        cpu / result['requests'] * 1e6 if result['requests'] else None)
    result['peak_rss_mb'] = target.peak_rss_mb()
    opened_after = counter.opened()
    result['db_connections_opened'] = (
        None if opened_before is None or opened_after is None
        else opened_after - opened_before)
    return result


class ConnectionCounter:
    """How many connections the database server has accepted so far
    (see tests.support.sqlservers.ConnectionCounter; MongoDB: the
    server's connections created, where it reports them). None where the
    database does not tell (SQLite, a server without the figure).
    """

    def __init__(self, backend, connection):
        self.backend = backend
        self.connection = connection
        self._sql = self._mongo = None

    def opened(self):
        try:
            if self.backend in ('postgresql', 'mysql'):
                if self._sql is None:
                    from tests.support import sqlservers
                    self._sql = sqlservers.ConnectionCounter(
                        self.backend, self.connection)
                return self._sql.accepted()
            if self.backend == 'mongodb':
                import pymongo
                if self._mongo is None:     # kept: counting opens none
                    self._mongo = pymongo.MongoClient(self.connection)
                status = self._mongo.admin.command('serverStatus')
                created = status.get('connections', {}).get('totalCreated')
                return None if created is None else int(created)
        except Exception as error:     # a figure we cannot read
            print('cannot count database connections: %r' % error,
                  file=sys.stderr)
        return None

    def close(self):
        if self._sql is not None:
            self._sql.close()
        if self._mongo is not None:
            self._mongo.close()
        self._sql = self._mongo = None
