#!/usr/bin/env python3
"""Benchmark of cloudprefs-api against the ceiling of its web server.

    tools/benchmark.py --backend postgresql
        [--auth noauth|keystone|compare] [--users 100] [--tokens N]
        [--connections 32,256] [--duration 10] [--rounds 5]
        [--set SECTION.OPTION=VALUE ...] [--large]
        [--scaling] [--soak 600] [--output results.json]

Starts cloudprefs-api with one worker on the chosen backend (a throw-away
database on the machine's PostgreSQL or MariaDB, a temporary SQLite file,
or the MongoDB test server), seeds users and data through the API, and
drives it with wrk (installed with apt-get when missing) using the Lua
scripts in tools/bench/. In the same run, interleaved round by round, it
measures the ceiling: a trivial WSGI app returning the same bytes under
the same server (eventlet.wsgi, one process). Per workload it prints the
median over the rounds of requests/s, p50 and p99 latency, non-2xx
responses, server CPU per request, peak RSS, the database connections
the server opened during the measured seconds (PostgreSQL's session
count, MariaDB's Connections status, MongoDB's connections created), and
the ratio to the ceiling; --output writes every round as JSON.

The service runs with its default options, as users run it. ``--set
database.max_pool_size=32`` (repeatable) changes an option; the tables
are then labelled "tuned" with the options given.

--large starts a second server, with ``[api] max_container_size`` raised
to 4 MiB for the purpose (the default is 1 MiB), seeds a container of
20,000 small objects (about 4 MB) and measures, one request at a time, a
GET of one path inside it, a HEAD of it, a conditional GET answered 304,
and a GET of the whole container.

--notifications also runs every workload against a second server that
sends notifications ([oslo_messaging_notifications] driver = messagingv2)
to a vhost of its own on the machine's RabbitMQ, interleaved with the
plain server round by round, and prints the ratio notifying / plain.
(Nothing consumes the messages: RabbitMQ drops them, so the figure is
the publishing cost on the service's side.)

--long-polls N also runs every workload, in the same rounds, while N idle
long-polls of the change feed (``GET /v1?since=0&wait=10`` for N users
nobody writes to, held up to ``[changes] max_wait`` and asked again) are
held open on the server, and prints the ratio with / without them; then
it measures the wake-up latency of a long-poll (from the acknowledgement
of a write to the answer of the waiting request), with the write made by
the same process and by another cloudprefs-api process on the same
database.

--uwsgi also runs the WSGI application under uwsgi with the shipped
etc/cloudprefs/uwsgi.ini (one process, as cloudprefs-api has one worker;
from .wsgi-venv, without eventlet) on the same database, each workload
against one server and then the other in every round (with --long-polls
too), and prints uwsgi / cloudprefs-api. ``--uwsgi-option threads=8``
(repeatable) changes an option of the ini; the run is then "tuned".

--auth compare runs a noauth and a keystone server (a real Keystone and
memcached) on one database with the same users' data, each workload
against one and then the other in every round, and prints keystone /
noauth: the ratio, the CPU per request of each, the memcached gets per
request and the validations Keystone made while measuring. --tokens N
gives the users N distinct tokens in all (1,500 over 50 users: more than
a process remembers).

--scaling seeds 1 thousand, 100 thousand and 1 million containers directly
through the SQL tables (in bulk) and measures GET and POST latency at each
size, and GET /v1 (one page of 100) for one user with 10 thousand
containers. --soak runs the 90/10 mix for the given seconds and compares
RSS and latency at its start and end.

Run it from the repository with the test virtualenv
(tools/run-tests.sh makes it) or tox -e bench.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

LUA_DIR = os.path.join(REPOSITORY, 'tools', 'bench')
WORKLOADS = ['get_path', 'get_1k', 'get_10k', 'post_path', 'post_merge',
             'mix', 'get_effective']
SMALL_VALUE = {'theme': 'dark', 'lang': 'en', 'n': 1, 'flags': ['a', 'b',
               'c'], 'note': 'x' * 24}


# The trivial app: the ceiling of eventlet.wsgi in one process ----------------

def serve_trivial(port):
    import eventlet
    eventlet.monkey_patch()
    import eventlet.wsgi
    body = json.dumps(SMALL_VALUE, separators=(',', ':')).encode()

    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    eventlet.wsgi.server(eventlet.listen(('127.0.0.1', port)), app,
                         log_output=False, custom_pool=eventlet.GreenPool(
                             1000))


# wrk ------------------------------------------------------------------------

def start_trivial(cleanups):
    """The trivial app in a process of its own: (Measured, base URL)."""
    from tests.support import network
    port = network.free_port()
    trivial = subprocess.Popen([sys.executable, __file__, '--serve-trivial',
                                str(port)], stderr=subprocess.DEVNULL)
    cleanups.append(trivial.terminate)
    network.wait_for_port(port, process=trivial)
    return Measured(trivial.pid), 'http://127.0.0.1:%d' % port


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
         '-s', os.path.join(LUA_DIR, script), url],
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


# Backends, servers and data --------------------------------------------------

def make_connection(backend, workdir, cleanups):
    if backend == 'sqlite':
        return 'sqlite:///%s' % os.path.join(workdir, 'bench.sqlite')
    if backend == 'mongodb':
        from tests.support import mongodb
        url = os.environ.get(mongodb.URL_ENV)
        if not url:
            server = mongodb.TestServer(
                storage_path=os.path.join(workdir, 'secantus')).start()
            cleanups.append(server.cleanup)
            url = server.url
        return mongodb.with_database(url, mongodb.unique_database())
    from tests.support import sqlservers
    url = sqlservers.create_database(backend)
    cleanups.append(lambda: sqlservers.drop_database(backend, url))
    subprocess.run([os.path.join(os.path.dirname(sys.executable),
                                 'cloudprefs-manage'), '--config-file',
                    _write_conf(workdir, 'sync', url, {}), 'db_sync'],
                   check=True, capture_output=True)
    return url


def _write_conf(workdir, name, connection, sections):
    from tests.support import config
    options = {'DEFAULT': {'api_workers': '1', 'bind_host': '127.0.0.1',
                           'debug': 'false',
                           'state_path': os.path.join(workdir, 'state')},
               'database': {'connection': connection}}
    for section, values in sections.items():
        options.setdefault(section, {}).update(values)
    return config.write_config_file(os.path.join(workdir, name + '.conf'),
                                    options)


UWSGI = ' uwsgi'


def start_uwsgi(workdir, connection, auth, keystone_sections, options,
                ini_options, cleanups):
    """The WSGI application under uwsgi with the shipped ini, one process
    (``ini_options``: ['threads=8', ...] from --uwsgi-option); (server,
    Measured of its whole process tree)."""
    from tests.support import uwsgi_server
    sections = service_sections(keystone_sections, options)
    overrides = {'processes': '1'}
    for assignment in ini_options:
        name, _, value = assignment.partition('=')
        overrides[name.strip()] = value.strip() or None
    uwsgi_dir = os.path.join(workdir, 'uwsgi')
    os.makedirs(uwsgi_dir)
    server = uwsgi_server.UwsgiServer(uwsgi_dir, connection,
                                      auth_strategy=auth, sections=sections,
                                      name='bench-uwsgi', overrides=overrides)
    server.start()
    cleanups.append(server.stop)
    return server, Measured(server.process.pid, tree=True)


def print_uwsgi_ratio(medians, workloads, polling):
    print('uwsgi (shipped uwsgi.ini, one process) / cloudprefs-api '
          '(same rounds, same database):')
    for name in workloads:
        pairs = [('', name, name + UWSGI)]
        if polling:
            pairs.append((polling, name + polling, name + UWSGI + polling))
        for label, api_name, uwsgi_name in pairs:
            api_row, uwsgi_row = medians[api_name], medians[uwsgi_name]
            print('  %-24s %.2f (p99 %.2f -> %.2f ms, non-2xx %d -> %d)' % (
                name + label, uwsgi_row['requests_per_second']
                / api_row['requests_per_second'], api_row['p99_ms'],
                uwsgi_row['p99_ms'], api_row['non_2xx'],
                uwsgi_row['non_2xx']))


def service_sections(keystone_sections, options):
    """The service's configuration in a benchmark: default options but
    for the Keystone settings and ``options`` ({section: {option:
    value}}, from --set), without debug logging."""
    sections = {'DEFAULT': {'debug': 'false'}}
    for section, values in list(keystone_sections.items()) + list(
            options.items()):
        sections.setdefault(section, {}).update(values)
    return sections


def start_api(workdir, connection, auth, keystone_sections, options):
    """cloudprefs-api, one worker, default options but for ``options``
    ({section: {option: value}}, from --set)."""
    from tests.support import api_server
    sections = service_sections(keystone_sections, options)
    sections['DEFAULT'].setdefault('api_workers', '1')
    server = api_server.ApiServer(workdir, connection, auth_strategy=auth,
                                  sections=sections, name='bench-api')
    return server.start()


class BenchKeystone:
    """A real Keystone and memcached for the benchmark: ``users`` members
    of one project and ``token_count`` distinct tokens spread over them
    (token i belongs to user i % users). ``options`` are the
    [keystone_authtoken] settings (token cache in the memcached)."""

    def __init__(self, workdir, users, cleanups, token_count=None):
        from tests.support import keystone
        server = keystone.KeystoneServer(os.path.join(workdir, 'keystone'))
        os.makedirs(server.workdir)
        cleanups.append(server.stop)
        server.start(processes=2, cheap_passwords=True)
        self.memcached = keystone.Memcached().start()
        cleanups.append(self.memcached.stop)
        service = server.create_user('cloudprefs', 'service', 'service')
        members = [server.create_user('bench%d' % i, 'bench', 'member')
                   for i in range(users)]
        self.user_ids = [member['id'] for member in members]
        token_count = token_count or users
        per_user = [server.tokens(member, len(range(i, token_count, users)),
                                  threads=8)
                    for i, member in enumerate(members)]
        self.tokens = [per_user[i % users][i // users]
                       for i in range(token_count)]
        self.options = {'keystone_authtoken': {
            'www_authenticate_uri': server.auth_url,
            'auth_url': server.auth_url, 'auth_type': 'password',
            'username': service['name'], 'password': service['password'],
            'project_name': 'service', 'user_domain_name': 'Default',
            'project_domain_name': 'Default',
            'memcached_servers': '127.0.0.1:%d' % self.memcached.port,
            'service_token_roles_required': 'true'}}

    def memcached_counts(self):
        stats = self.memcached.stats()
        return {name: stats[name] for name in ('get_hits', 'get_misses',
                                               'cmd_set')}


def seed(api, headers_list):
    import requests
    one_kb = {'k%02d' % i: 'v' * 20 for i in range(36)}
    ten_kb = {'k%03d' % i: 'v' * 20 for i in range(360)}
    session = requests.Session()
    for headers in headers_list:
        for path, body in (('/v1/bench/small', SMALL_VALUE),
                           ('/v1/c1k', one_kb), ('/v1/c10k', ten_kb)):
            response = session.post(api.url(path), data=json.dumps(body),
                                    headers=headers, timeout=30)
            response.raise_for_status()


# The layers get_effective.lua reads below each user's c1k (API 1.4).
LAYER_QUERIES = ('scope=cloud', 'scope=domain&domain_id=bench-domain',
                 'scope=project&project_id=bench-project')
CLOUD_ADMIN = {'X-User-Id': 'bench-admin', 'X-Roles': 'admin',
               'OpenStack-System-Scope': 'all',
               'OpenStack-API-Version': 'preferences 1.4'}


def seed_layers(api):
    """A 1 KB c1k in the cloud's, bench-domain's and bench-project's
    layers, each overriding some keys of the one below (noauth only: a
    cloud administrator by headers)."""
    import requests
    for index, query in enumerate(LAYER_QUERIES):
        layer = {'k%02d' % i: 'layer%d-%s' % (index, 'v' * 14)
                 for i in range(index, 36, 3)}
        layer['nested'] = {'level': index, 'list': list(range(index + 1))}
        response = requests.post(api.url('/v1/c1k?' + query),
                                 data=json.dumps(layer),
                                 headers=CLOUD_ADMIN, timeout=30)
        response.raise_for_status()


def bulk_seed_containers(connection, count, user_prefix):
    """Insert ``count`` containers straight into the SQL table, spread
    over users of 100 containers each (what GET/POST must stay flat on)."""
    import sqlalchemy as sa
    from cloudprefs.storage import sql_tables
    engine = sa.create_engine(connection)
    value = json.dumps(SMALL_VALUE, separators=(',', ':'))
    now = time.time_ns() // 1000
    batch = []
    with engine.begin() as transaction:
        for index in range(count):
            batch.append({'user_id': '%s-%d' % (user_prefix, index // 100),
                          'name': 'c%d' % (index % 100), 'revision': now,
                          'modified_us': now, 'size': len(value),
                          'value': value})
            if len(batch) == 5000:
                transaction.execute(sa.insert(sql_tables.containers), batch)
                batch = []
        if batch:
            transaction.execute(sa.insert(sql_tables.containers), batch)
    engine.dispose()


# Runs -----------------------------------------------------------------------

def median_row(rounds):
    keys = [key for key in rounds[0] if isinstance(rounds[0][key],
                                                   (int, float))]
    return {key: statistics.median(r[key] for r in rounds
                                   if r[key] is not None) for key in keys}


def summarize(rounds, results, connections):
    """Medians of the rounds, with their ratio to the ceiling, kept in
    ``results``; (medians, ceiling requests/s)."""
    medians = {name: median_row(rows) for name, rows in rounds.items()}
    ceiling = medians['ceiling']['requests_per_second']
    run = results['runs'][str(connections)] = {}
    for name, row in medians.items():
        row['ratio_to_ceiling'] = row['requests_per_second'] / ceiling
        run[name] = {'median': row, 'rounds': rounds[name]}
    return medians, ceiling


def print_table(title, medians, ceiling_rps):
    print('\n' + title)
    print('%-18s %9s %8s %8s %7s %9s %8s %7s %7s' % (
        'workload', 'req/s', 'p50 ms', 'p99 ms', 'non2xx', 'cpu us/rq',
        'rss MB', 'db conn', 'ratio'))
    for name, row in medians.items():
        ratio = row['requests_per_second'] / ceiling_rps if ceiling_rps \
            else float('nan')
        opened = row.get('db_connections_opened')
        print('%-18s %9.0f %8.2f %8.2f %7d %9.0f %8.1f %7s %7.2f' % (
            name, row['requests_per_second'], row['p50_ms'], row['p99_ms'],
            row['non_2xx'], row.get('server_cpu_us_per_request') or 0,
            row.get('peak_rss_mb') or 0,
            '-' if opened is None or name == 'ceiling' else '%d' % opened,
            ratio))


def label_for(args):
    changed = args.set + ['uwsgi ' + option for option in args.uwsgi_option]
    return ('tuned (%s)' % ', '.join(changed) if changed
            else 'default options')


def workload_names(text):
    """--workloads: known names only (wrk, given a script that does not
    exist, measures GET / instead and the table would say otherwise)."""
    names = [name for name in text.split(',') if name]
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown:
        raise argparse.ArgumentTypeError(
            'unknown workload(s): %s (known: %s)' % (
                ', '.join(unknown), ', '.join(WORKLOADS)))
    return ','.join(names)


def parse_options(assignments):
    """``['database.max_pool_size=32', ...]`` as {section: {option:
    value}}."""
    options = {}
    for assignment in assignments:
        name, separator, value = assignment.partition('=')
        section, dot, option = name.rpartition('.')
        if not separator or not dot or not option:
            raise SystemExit('--set takes SECTION.OPTION=VALUE, not %r'
                             % assignment)
        options.setdefault(section, {})[option] = value
    return options


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backend', default='postgresql',
                        choices=['sqlite', 'postgresql', 'mysql', 'mongodb'])
    parser.add_argument('--auth', default='noauth',
                        choices=['noauth', 'keystone', 'compare'],
                        help='compare: both pipelines side by side')
    parser.add_argument('--tokens', type=int, default=0, metavar='N',
                        help='with keystone or compare: N distinct tokens '
                             'spread over the users (default: one each)')
    parser.add_argument('--connections', default='32,256',
                        help='comma-separated; each is a table of its own')
    parser.add_argument('--duration', type=int, default=10)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--users', type=int, default=100)
    parser.add_argument('--workloads', default=','.join(WORKLOADS),
                        type=workload_names,
                        help='comma-separated, of: ' + ', '.join(WORKLOADS))
    parser.add_argument('--set', action='append', default=[],
                        metavar='SECTION.OPTION=VALUE',
                        help='run with this option changed (the tables are '
                             'then labelled tuned)')
    parser.add_argument('--large', action='store_true')
    parser.add_argument('--notifications', action='store_true')
    parser.add_argument('--notification-driver', default='messagingv2',
                        help='with --notifications: oslo.messaging\'s '
                             '"test" driver keeps messages in the relay\'s '
                             'memory, which measures the service\'s own '
                             'hand-over apart from oslo.messaging\'s and '
                             'RabbitMQ\'s work')
    parser.add_argument('--long-polls', type=int, default=0, metavar='N')
    parser.add_argument('--wakeups', type=int, default=100, metavar='N',
                        help='wake-up latency samples per kind')
    parser.add_argument('--hold-long-polls', nargs=2, type=int,
                        help=argparse.SUPPRESS)
    parser.add_argument('--uwsgi', action='store_true')
    parser.add_argument('--uwsgi-option', action='append', default=[],
                        metavar='OPTION=VALUE')
    parser.add_argument('--scaling', action='store_true')
    parser.add_argument('--soak', type=int, default=0, metavar='SECONDS')
    parser.add_argument('--output')
    parser.add_argument('--serve-trivial', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_trivial:
        return serve_trivial(args.serve_trivial)
    if args.hold_long_polls:
        return hold_long_polls(*args.hold_long_polls)
    options = parse_options(args.set)
    if args.tokens and args.auth == 'noauth':
        parser.error('--tokens needs --auth keystone or compare')
    if args.auth == 'compare':
        if args.long_polls or args.notifications or args.large or \
                args.scaling or args.soak:
            parser.error('--auth compare runs the workloads only')
        ensure_wrk()
        return compare_auth(args, options, label_for(args))
    if args.long_polls and args.auth != 'noauth':
        parser.error('--long-polls holds requests as X-User-Id users: '
                     'noauth only')
    label = label_for(args)
    connection_counts = [int(count) for count in args.connections.split(',')]

    ensure_wrk()
    workdir = tempfile.mkdtemp(prefix='cloudprefs-bench-')
    cleanups = []
    results = describe_run(args, options)
    env = dict(os.environ, BENCH_LUA_DIR=LUA_DIR, BENCH_USERS=str(args.users))
    try:
        connection = make_connection(args.backend, workdir, cleanups)
        counter = ConnectionCounter(args.backend, connection)
        cleanups.append(counter.close)
        keystone_sections, headers_list = {}, [
            {'X-User-Id': 'bench-%d' % (i + 1)} for i in range(args.users)]
        if args.auth == 'keystone':
            bench_keystone = BenchKeystone(workdir, args.users, cleanups,
                                           args.tokens)
            keystone_sections = bench_keystone.options
            tokens = bench_keystone.tokens
            tokens_file = os.path.join(workdir, 'tokens')
            with open(tokens_file, 'w') as token_lines:
                token_lines.write('\n'.join(tokens) + '\n')
            env['BENCH_TOKENS_FILE'] = tokens_file
            headers_list = [{'X-Auth-Token': token} for token in tokens]
        api = start_api(workdir, connection, args.auth, keystone_sections,
                        options)
        cleanups.append(api.stop)
        # Seeding through the API also warms the token cache: one request
        # per token reaches Keystone, later ones are served from memcached.
        seed(api, headers_list)
        if args.auth == 'noauth':
            seed_layers(api)
        api_target = Measured(api.process.pid)
        notifying = None
        if args.notifications:
            notifying = start_notifying_api(workdir, connection, args.auth,
                                            keystone_sections, options,
                                            cleanups,
                                            args.notification_driver)

        uwsgi = None
        if args.uwsgi:
            uwsgi = start_uwsgi(workdir, connection, args.auth,
                                keystone_sections, options,
                                args.uwsgi_option, cleanups)
            seed(uwsgi[0], headers_list[:1])     # loads its worker

        trivial_target, trivial_url = start_trivial(cleanups)
        no_counter = ConnectionCounter(None, None)

        workloads = [name for name in args.workloads.split(',') if name]
        for connections in connection_counts:
            names = ['ceiling'] + workloads
            if notifying is not None:
                names += [name + NOTIFYING for name in workloads]
            polling = ' +%d polls' % args.long_polls
            if args.long_polls:
                names += [name + polling for name in workloads]
            if uwsgi is not None:
                names += [name + UWSGI for name in workloads]
                if args.long_polls:
                    names += [name + UWSGI + polling for name in workloads]
            rounds = {name: [] for name in names}
            for number in range(args.rounds):
                print('%d connections, round %d/%d' % (
                    connections, number + 1, args.rounds), file=sys.stderr)
                rounds['ceiling'].append(measure(
                    trivial_target, trivial_url, 'trivial.lua', connections,
                    args.duration, env, no_counter))
                for name in workloads:
                    rounds[name].append(measure(
                        api_target, api.base_url, name + '.lua', connections,
                        args.duration, env, counter))
                    if notifying is not None:
                        rounds[name + NOTIFYING].append(measure(
                            notifying[1], notifying[0].base_url,
                            name + '.lua', connections, args.duration, env,
                            counter))
                    if uwsgi is not None:
                        rounds[name + UWSGI].append(measure(
                            uwsgi[1], uwsgi[0].base_url, name + '.lua',
                            connections, args.duration, env, counter))
                if args.long_polls:
                    with LongPolls(api.port, args.long_polls):
                        for name in workloads:
                            rounds[name + polling].append(measure(
                                api_target, api.base_url, name + '.lua',
                                connections, args.duration, env, counter))
                if args.long_polls and uwsgi is not None:
                    with LongPolls(uwsgi[0].port, args.long_polls):
                        for name in workloads:
                            rounds[name + UWSGI + polling].append(measure(
                                uwsgi[1], uwsgi[0].base_url, name + '.lua',
                                connections, args.duration, env, counter))
            medians, ceiling = summarize(rounds, results, connections)
            print_table('%s, %s, %s, %d connections, medians of %d rounds '
                        'of %d s' % (args.backend, args.auth, label,
                                     connections, args.rounds,
                                     args.duration), medians, ceiling)
            if notifying is not None:
                print_notification_cost(medians, workloads)
            if args.long_polls:
                print_long_poll_cost(medians, workloads, polling)
            if uwsgi is not None:
                print_uwsgi_ratio(medians, workloads, polling
                                  if args.long_polls else None)

        if notifying is not None:
            print_notifications_lost(notifying[0])
        if args.large:
            large_options = {section: dict(values)
                             for section, values in options.items()}
            large_options.setdefault('api', {})['max_container_size'] = \
                str(LARGE_CONTAINER_LIMIT)
            os.makedirs(os.path.join(workdir, 'large'))
            large_api = start_api(os.path.join(workdir, 'large'), connection,
                                  args.auth, keystone_sections,
                                  large_options)
            cleanups.append(large_api.stop)
            results['large'] = run_large(large_api, headers_list[0])
        if args.long_polls:
            results['wakeups'] = run_wakeups(workdir, connection, args.auth,
                                             keystone_sections, options, api,
                                             args.wakeups, cleanups)
            if uwsgi is not None:
                results['wakeups uwsgi'] = run_wakeups(
                    workdir, connection, args.auth, keystone_sections,
                    options, uwsgi[0], args.wakeups, cleanups, other=api,
                    label='uwsgi')
        if args.scaling:
            results['scaling'] = run_scaling(args, api, api_target,
                                             connection, env, counter)
        if args.soak:
            results['soak'] = run_soak(args, api, api_target, env, counter)
    finally:
        clean_up(cleanups, workdir)
    write_output(args, results)
    return 0


def clean_up(cleanups, workdir):
    for cleanup in reversed(cleanups):
        try:
            cleanup()
        except Exception as error:     # keep cleaning up
            print('cleanup failed: %r' % error, file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)


def write_output(args, results):
    if args.output:
        with open(args.output, 'w') as output:
            json.dump(results, output, indent=1)


def describe_run(args, options):
    return {'backend': args.backend, 'auth': args.auth, 'options': options,
            'connections': [int(count)
                            for count in args.connections.split(',')],
            'duration': args.duration, 'rounds': args.rounds,
            'date': time.strftime('%Y-%m-%d'),
            'machine': {'cpus': os.cpu_count(),
                        'python': sys.version.split()[0]},
            'runs': {}}


# Keystone against noauth -----------------------------------------------------

def compare_auth(args, options, label):
    """Both pipelines side by side: a noauth and a keystone cloudprefs-api
    on one database, the same users' data, each workload run against one
    and then the other in every round (which goes first alternates)."""
    workdir = tempfile.mkdtemp(prefix='cloudprefs-bench-')
    cleanups = []
    results = describe_run(args, options)
    results['tokens'] = args.tokens or args.users
    try:
        connection = make_connection(args.backend, workdir, cleanups)
        counter = ConnectionCounter(args.backend, connection)
        cleanups.append(counter.close)
        print('creating %d users and %d tokens in Keystone'
              % (args.users, args.tokens or args.users), file=sys.stderr)
        keystone = BenchKeystone(workdir, args.users, cleanups, args.tokens)
        servers = {}
        for auth in ('noauth', 'keystone'):
            os.makedirs(os.path.join(workdir, 'api-' + auth))
            servers[auth] = start_api(os.path.join(workdir, 'api-' + auth),
                                      connection, auth, keystone.options,
                                      options)
            cleanups.append(servers[auth].stop)
        seed(servers['keystone'], [{'X-Auth-Token': token} for token
                                   in keystone.tokens[:args.users]])
        files = {}
        for name, lines in (('tokens', keystone.tokens),
                            ('user_ids', keystone.user_ids)):
            files[name] = os.path.join(workdir, name)
            with open(files[name], 'w') as out:
                out.write('\n'.join(lines) + '\n')
        base_env = dict(os.environ, BENCH_LUA_DIR=LUA_DIR)
        envs = {'noauth': dict(base_env,
                               BENCH_USER_IDS_FILE=files['user_ids']),
                'keystone': dict(base_env, BENCH_TOKENS_FILE=files['tokens'])}
        targets = {auth: Measured(server.process.pid)
                   for auth, server in servers.items()}
        trivial_target, trivial_url = start_trivial(cleanups)
        no_counter = ConnectionCounter(None, None)
        workloads = [name for name in args.workloads.split(',') if name]
        cached = CachedTokens(servers['keystone'], keystone.tokens,
                              options, args.duration)
        for connections in results['connections']:
            rounds = {'ceiling': []}
            for name in workloads:
                rounds[name + ' noauth'] = []
                rounds[name + ' keystone'] = []
            for number in range(args.rounds):
                print('%d connections, round %d/%d' % (
                    connections, number + 1, args.rounds), file=sys.stderr)
                rounds['ceiling'].append(measure(
                    trivial_target, trivial_url, 'trivial.lua', connections,
                    args.duration, base_env, no_counter))
                order = ('noauth', 'keystone') if number % 2 == 0 else (
                    'keystone', 'noauth')
                for name in workloads:
                    for auth in order:
                        if auth == 'keystone':
                            cached.keep_cached()
                        before = keystone.memcached_counts()
                        row = measure(targets[auth], servers[auth].base_url,
                                      name + '.lua', connections,
                                      args.duration, envs[auth], counter)
                        after = keystone.memcached_counts()
                        for key in before:
                            row['memcached_' + key] = (after[key]
                                                       - before[key])
                        rounds['%s %s' % (name, auth)].append(row)
            medians, ceiling = summarize(rounds, results, connections)
            print_table('%s, keystone and noauth, %s, %d users, %d tokens, '
                        '%d connections, medians of %d rounds of %d s' % (
                            args.backend, label, args.users,
                            results['tokens'], connections, args.rounds,
                            args.duration), medians, ceiling)
            print_auth_cost(medians, workloads)
    finally:
        clean_up(cleanups, workdir)
    write_output(args, results)
    return 0


class CachedTokens:
    """Keeps the tokens in auth_token's cache for the measured seconds, as
    a running service has them: before a measurement that could reach
    ``token_cache_time`` since they were last validated, every token goes
    once through the server again (and so to Keystone: the entries
    expired, or are about to)."""

    MARGIN = 30

    def __init__(self, server, tokens, options, duration):
        self.server, self.tokens = server, tokens
        self.cache_time = int(options.get('keystone_authtoken', {}).get(
            'token_cache_time', 300))
        self.duration = duration
        self.validated_at = None

    def keep_cached(self):
        if self.validated_at is not None and (
                time.monotonic() + self.duration + self.MARGIN
                < self.validated_at + self.cache_time):
            return
        print('validating the tokens through the keystone server',
              file=sys.stderr)
        started = time.monotonic()
        use_every_token(self.server, self.tokens)
        self.validated_at = started


def use_every_token(server, tokens):
    """Every token once through the server. Eight at a time: the
    benchmark's Keystone has eight threads, and under uwsgi a kept-alive
    connection holds one."""
    import concurrent.futures
    import requests
    session = requests.Session()

    def use(token):
        session.get(server.url('/v1'), headers={'X-Auth-Token': token},
                    timeout=60).raise_for_status()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(use, tokens))
    finally:
        session.close()


def print_auth_cost(medians, workloads):
    print('keystone / noauth (same rounds, same database):')
    print('  %-12s %7s %12s %12s %10s %16s %11s' % (
        'workload', 'ratio', 'noauth cpu', 'keystone cpu', 'cpu diff',
        'memcached gets', 'validations'))
    for name in workloads:
        plain = medians[name + ' noauth']
        keystone = medians[name + ' keystone']
        gets = (keystone['memcached_get_hits']
                + keystone['memcached_get_misses'])
        print('  %-12s %7.2f %9.0f us %9.0f us %+7.0f us %8.3f/request %11d'
              % (name, keystone['requests_per_second']
                 / plain['requests_per_second'],
                 plain['server_cpu_us_per_request'],
                 keystone['server_cpu_us_per_request'],
                 keystone['server_cpu_us_per_request']
                 - plain['server_cpu_us_per_request'],
                 gets / keystone['requests'], keystone['memcached_cmd_set']))


# Long-polls ------------------------------------------------------------------

def hold_long_polls(port, count):
    """Hold ``count`` idle long-polls on 127.0.0.1:``port`` until killed,
    asking again whenever one is answered, after its ``Retry-After`` when
    it has one (the server would not hold it), as the client library does
    (in its own process, so that its work is not the server's nor
    wrk's)."""
    import asyncio

    async def hold(index):
        request = ('GET /v1?since=0&wait=%d HTTP/1.1\r\nHost: bench\r\n'
                   'X-User-Id: idle-%d\r\n\r\n' % (LONG_POLL_WAIT, index)
                   ).encode('ascii')
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        while True:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b'\r\n\r\n')
            length = re.search(rb'(?i)content-length: *([0-9]+)', head)
            await reader.readexactly(int(length.group(1)))
            retry_after = re.search(rb'(?i)retry-after: *([0-9]+)', head)
            if retry_after:
                await asyncio.sleep(int(retry_after.group(1)))

    async def hold_all():
        tasks = []
        for index in range(count):
            tasks.append(asyncio.ensure_future(hold(index)))
            if index % 100 == 99:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        print('holding', flush=True)
        await asyncio.gather(*tasks)

    asyncio.run(hold_all())
    return 0


# Seconds each idle long-poll asks to wait; asked again when answered.
LONG_POLL_WAIT = 10


class LongPolls:
    """``count`` idle long-polls held on the server while in the block."""

    def __init__(self, port, count):
        self.port, self.count = port, count
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, __file__, '--hold-long-polls', str(self.port),
             str(self.count)], stdout=subprocess.PIPE, text=True)
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


def print_long_poll_cost(medians, workloads, polling):
    print('with%s / without (same rounds, same server):' % polling)
    for name in workloads:
        plain = medians[name]
        held = medians[name + polling]
        cpu = ('' if held['server_cpu_us_per_request'] is None
               or plain['server_cpu_us_per_request'] is None
               else ', CPU %+.0f us/request' % (
                   held['server_cpu_us_per_request']
                   - plain['server_cpu_us_per_request']))
        print('  %-12s %.2f (p99 %.2f -> %.2f ms%s, non-2xx %d)' % (
            name, held['requests_per_second'] / plain['requests_per_second'],
            plain['p99_ms'], held['p99_ms'], cpu, held['non_2xx']))


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
        other = start_api(other_dir, connection, auth, keystone_sections,
                          options)
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


# Notifications ---------------------------------------------------------------

NOTIFYING = ' +notify'


def start_notifying_api(workdir, connection, auth, keystone_sections,
                        options, cleanups, driver='messagingv2'):
    """A second cloudprefs-api like the first, sending notifications to a
    vhost of its own on the machine's RabbitMQ; (server, Measured)."""
    from tests.support import rabbitmq
    vhost = rabbitmq.VirtualHost().create()
    cleanups.append(vhost.delete)
    notify_options = {section: dict(values)
                      for section, values in options.items()}
    notify_options['oslo_messaging_notifications'] = {
        'driver': driver, 'transport_url': vhost.url()}
    notify_dir = os.path.join(workdir, 'notify')
    os.makedirs(notify_dir)
    server = start_api(notify_dir, connection, auth, keystone_sections,
                       notify_options)
    cleanups.append(server.stop)
    return server, Measured(server.process.pid)


def print_notifications_lost(server):
    """Stop the notifying server: its relay then sends what it holds (for
    up to 10 s) and logs its final counts."""
    server.stop()
    time.sleep(12)
    counts = [line.split('] ', 1)[-1] for line in server.log().splitlines()
              if 'Notifications lost so far' in line]
    print('notifying server, last count of its relay: %s'
          % (counts[-1] if counts else 'nothing lost'))


def print_notification_cost(medians, workloads):
    print('notifications on / off (same round, same database):')
    for name in workloads:
        plain, notifying = medians[name], medians[name + NOTIFYING]
        print('  %-11s req/s ratio %.3f, CPU us/request %+.0f' % (
            name, notifying['requests_per_second']
            / plain['requests_per_second'],
            (notifying.get('server_cpu_us_per_request') or 0)
            - (plain.get('server_cpu_us_per_request') or 0)))


# A large container -----------------------------------------------------------

LARGE_MEMBERS = 20000
LARGE_CONTAINER_LIMIT = 4 * 1024 * 1024


def large_member(index):
    """One of the large container's ~190-byte objects."""
    return {'name': 'item %d' % index, 'tags': ['a', 'b', 'c'], 'n': index,
            'enabled': index % 2 == 0, 'note': 'x' * 100}


def seed_large(api, headers, name='large'):
    """Build the container in merges that each fit a request body."""
    import requests
    session = requests.Session()
    batch = {}
    for index in range(LARGE_MEMBERS):
        batch['k%05d' % index] = large_member(index)
        if len(batch) == 2000 or index == LARGE_MEMBERS - 1:
            session.post(api.url('/v1/' + name), data=json.dumps(batch),
                         headers=headers, timeout=120).raise_for_status()
            batch = {}
    whole = session.get(api.url('/v1/' + name), headers=headers, timeout=120)
    whole.raise_for_status()
    return len(whole.content)


def time_requests(session, method, url, headers, count, expect):
    """Sequential requests on one kept-alive connection; milliseconds."""
    times = []
    for _ in range(count):
        target = url() if callable(url) else url
        started = time.perf_counter()
        response = session.request(method, target, headers=headers,
                                   timeout=120)
        response.content
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != expect:
            raise RuntimeError('%s %s answered %d' % (
                method, target, response.status_code))
    return times


def run_large(api, headers, count=200):
    import random
    import requests
    size = seed_large(api, headers)
    session = requests.Session()
    etag = session.head(api.url('/v1/large'), headers=headers,
                        timeout=120).headers['ETag']

    def random_path():
        return api.url('/v1/large/k%05d/name'
                       % random.randrange(LARGE_MEMBERS))

    workloads = [
        ('GET one path', 'GET', random_path, headers, count, 200),
        ('HEAD', 'HEAD', api.url('/v1/large'), headers, count, 200),
        ('GET 304', 'GET', api.url('/v1/large'),
         dict(headers, **{'If-None-Match': etag}), count, 304),
        ('GET whole', 'GET', api.url('/v1/large'), headers, max(
            10, count // 10), 200),
    ]
    print('\nlarge container: %d objects, %d bytes, one request at a time '
          '([api] max_container_size = %d for this part)'
          % (LARGE_MEMBERS, size, LARGE_CONTAINER_LIMIT))
    print('%-14s %8s %8s %8s' % ('request', 'count', 'p50 ms', 'p99 ms'))
    results = {'bytes': size}
    for label, method, url, request_headers, repeat, expect in workloads:
        time_requests(session, method, url, request_headers, 3, expect)
        times = sorted(time_requests(session, method, url, request_headers,
                                     repeat, expect))
        row = {'count': repeat, 'p50_ms': statistics.median(times),
               'p99_ms': times[min(len(times) - 1,
                                   int(len(times) * 0.99))]}
        results[label] = row
        print('%-14s %8d %8.2f %8.2f' % (label, repeat, row['p50_ms'],
                                         row['p99_ms']))
    return results


def run_scaling(args, api, target, connection, env, counter):
    if args.backend == 'mongodb':
        print('scaling: seeding a million containers into the MongoDB test '
              'server is too slow; skipped for this backend', file=sys.stderr)
        return None
    connections = int(args.connections.split(',')[0])
    scaling = {}
    stored = 0
    for size in (1000, 100000, 1000000):
        bulk_seed_containers(connection, size - stored,
                             'scale%d' % size)
        stored = size
        row = {}
        for name in ('get_path', 'post_path'):
            runs = [measure(target, api.base_url, name + '.lua', connections,
                            args.duration, env, counter)
                    for _ in range(args.rounds)]
            row[name] = median_row(runs)
        scaling[str(size)] = row
        print('scaling %8d containers: GET p50 %.2f ms, POST p50 %.2f ms'
              % (size, row['get_path']['p50_ms'],
                 row['post_path']['p50_ms']))
    # GET /v1 as one user's container count grows, one page of 100.
    import requests
    listing = {}
    user = 'lister-' + uuid.uuid4().hex
    created = 0
    for count in (100, 1000, 10000):
        bulk_seed_user(connection, user, created, count)
        created = count
        env = dict(env, BENCH_LIST_USER=user, BENCH_LIST_LIMIT='100')
        runs = [measure(target, api.base_url, 'get_list.lua', connections,
                        args.duration, env, counter)
                for _ in range(args.rounds)]
        listing[str(count)] = median_row(runs)
        assert len(requests.get(api.url('/v1?limit=100'),
                                headers={'X-User-Id': user},
                                timeout=30).json()) == 100
        print('GET /v1?limit=100 with %5d containers: p50 %.2f ms'
              % (count, listing[str(count)]['p50_ms']))
    return {'containers': scaling, 'listing': listing}


def bulk_seed_user(connection, user, start, stop):
    import sqlalchemy as sa
    from cloudprefs.storage import sql_tables
    engine = sa.create_engine(connection)
    now = time.time_ns() // 1000
    with engine.begin() as transaction:
        transaction.execute(sa.insert(sql_tables.containers), [
            {'user_id': user, 'name': 'c%06d' % index, 'revision': now,
             'modified_us': now, 'size': 2, 'value': '{}'}
            for index in range(start, stop)])
    engine.dispose()


def run_soak(args, api, target, env, counter):
    connections = int(args.connections.split(',')[0])
    window = min(30, max(5, args.soak // 10))
    start = measure(target, api.base_url, 'mix.lua', connections, window,
                    env, counter)
    start['rss_mb'] = target.rss_mb()
    remaining = args.soak - 2 * window
    samples = []
    while remaining > 0:
        chunk = min(60, remaining)
        measure(target, api.base_url, 'mix.lua', connections, chunk, env,
                counter)
        samples.append(target.rss_mb())
        remaining -= chunk
    end = measure(target, api.base_url, 'mix.lua', connections, window, env,
                  counter)
    end['rss_mb'] = target.rss_mb()
    print('soak %d s: RSS %.1f -> %.1f MB, p50 %.2f -> %.2f ms, '
          'p99 %.2f -> %.2f ms' % (args.soak, start['rss_mb'],
                                   end['rss_mb'], start['p50_ms'],
                                   end['p50_ms'], start['p99_ms'],
                                   end['p99_ms']))
    return {'start': start, 'end': end, 'rss_samples_mb': samples}


if __name__ == '__main__':
    sys.exit(main())
