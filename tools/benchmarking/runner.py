"""The benchmark's command line and its rounds: every workload against
each server measured and against the ceiling, interleaved round by round
so that all of them see the same machine."""

import argparse
import os
import signal
import sys
import tempfile

from benchmarking import auth_comparison
from benchmarking import long_polls
from benchmarking import measuring
from benchmarking import report
from benchmarking import scenarios
from benchmarking import servers
from benchmarking import workloads


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


def counts(text):
    """A comma-separated list of positive integers."""
    try:
        values = [int(value) for value in text.split(',') if value]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            'expected positive integers separated by commas, not %r' % text)
    return values


def make_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--backend', default='postgresql',
                        choices=['sqlite', 'postgresql', 'mysql', 'mongodb'])
    parser.add_argument('--auth', default='noauth',
                        choices=['noauth', 'keystone', 'compare'],
                        help='compare: both pipelines side by side')
    parser.add_argument('--tokens', type=int, default=0, metavar='N',
                        help='with keystone or compare: N distinct tokens '
                             'spread over the users (default: one each)')
    parser.add_argument('--connections', default='32,256', type=counts,
                        help='comma-separated; each is a table of its own')
    parser.add_argument('--duration', type=int, default=10)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--users', type=int, default=100)
    parser.add_argument('--workloads', default=','.join(workloads.WORKLOADS),
                        type=workloads.workload_names,
                        help='comma-separated, of: '
                             + ', '.join(workloads.WORKLOADS))
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
    parser.add_argument('--uwsgi', action='store_true')
    parser.add_argument('--uwsgi-option', action='append', default=[],
                        metavar='OPTION=VALUE')
    parser.add_argument('--scaling', action='store_true')
    parser.add_argument('--scaling-sizes', type=counts,
                        default=[1000, 100000, 1000000],
                        metavar='N,N,...',
                        help='with --scaling: the store sizes, growing')
    parser.add_argument('--soak', type=int, default=0, metavar='SECONDS')
    parser.add_argument('--output')
    return parser


def main(argv=None, description=None):
    parser = make_parser(description)
    args = parser.parse_args(argv)
    # Stopped with SIGTERM (kill, a timeout), a run still stops the
    # servers it started and drops its database, as after Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    options = parse_options(args.set)
    if args.tokens and args.auth == 'noauth':
        parser.error('--tokens needs --auth keystone or compare')
    if args.auth == 'compare':
        if args.long_polls or args.notifications or args.large or \
                args.scaling or args.soak:
            parser.error('--auth compare runs the workloads only')
        measuring.ensure_wrk()
        return auth_comparison.compare_auth(args, options,
                                            report.label_for(args))
    if args.long_polls and args.auth != 'noauth':
        parser.error('--long-polls holds requests as X-User-Id users: '
                     'noauth only')
    if args.scaling and args.auth != 'noauth':
        parser.error('--scaling lists as an X-User-Id user: noauth only')
    measuring.ensure_wrk()
    workdir = tempfile.mkdtemp(prefix='cloudprefs-bench-')
    cleanups = []
    results = report.describe_run(args, options)
    try:
        Run(args, options, workdir, cleanups).run(results)
    finally:
        servers.clean_up(cleanups, workdir)
    report.write_output(args, results)
    return 0


class Run:
    """One benchmark run: the servers it starts, the data it stores, the
    rounds, then the modes asked for."""

    def __init__(self, args, options, workdir, cleanups):
        self.args, self.options = args, options
        self.workdir, self.cleanups = workdir, cleanups
        self.env = dict(os.environ, BENCH_LUA_DIR=workloads.LUA_DIR,
                        BENCH_USERS=str(args.users))
        self.keystone_sections = {}
        self.user_ids = ['bench-%d' % (i + 1) for i in range(args.users)]
        self.headers_list = [{'X-User-Id': user_id}
                             for user_id in self.user_ids]
        self.workloads = [name for name in args.workloads.split(',') if name]

    def run(self, results):
        args = self.args
        self.connection = servers.make_connection(args.backend, self.workdir,
                                                  self.cleanups)
        self.counter = measuring.ConnectionCounter(args.backend,
                                                   self.connection)
        self.cleanups.append(self.counter.close)
        if args.auth == 'keystone':
            self._use_keystone()
        self.api = servers.start_api(self.workdir, self.connection,
                                     args.auth, self.keystone_sections,
                                     self.options)
        self.cleanups.append(self.api.stop)
        self._seed()
        self.api_target = measuring.Measured(self.api.process.pid)
        self.notifying = self.uwsgi = None
        if args.notifications:
            self.notifying = servers.start_notifying_api(
                self.workdir, self.connection, args.auth,
                self.keystone_sections, self.options, self.cleanups,
                args.notification_driver)
        if args.uwsgi:
            self.uwsgi = servers.start_uwsgi(
                self.workdir, self.connection, args.auth,
                self.keystone_sections, self.options, args.uwsgi_option,
                self.cleanups)
            servers.warm(self.uwsgi[0], self.headers_list[:1])
        self.trivial_target, self.trivial_url = servers.start_trivial(
            self.cleanups)
        for connections in args.connections:
            self._measure_rounds(connections, results)
        if self.notifying is not None:
            report.print_notifications_lost(self.notifying[0])
        self._run_modes(results)

    def _use_keystone(self):
        keystone = servers.BenchKeystone(self.workdir, self.args.users,
                                         self.cleanups, self.args.tokens)
        self.keystone_sections = keystone.options
        self.user_ids = keystone.user_ids
        tokens_file = os.path.join(self.workdir, 'tokens')
        with open(tokens_file, 'w') as token_lines:
            token_lines.write('\n'.join(keystone.tokens) + '\n')
        self.env['BENCH_TOKENS_FILE'] = tokens_file
        self.headers_list = [{'X-Auth-Token': token}
                             for token in keystone.tokens]

    def _seed(self):
        driver = workloads.open_driver(self.connection, self.options)
        try:
            workloads.seed(driver, self.user_ids)
            if self.args.auth == 'noauth':
                workloads.seed_layers(driver)
        finally:
            driver.close()
        # One request per token reaches Keystone; the measured ones are
        # then served from the token cache, as on a running service.
        servers.warm(self.api, self.headers_list)

    def _names(self, polling):
        names = ['ceiling'] + self.workloads
        if self.notifying is not None:
            names += [name + servers.NOTIFYING for name in self.workloads]
        if self.args.long_polls:
            names += [name + polling for name in self.workloads]
        if self.uwsgi is not None:
            names += [name + servers.UWSGI for name in self.workloads]
            if self.args.long_polls:
                names += [name + servers.UWSGI + polling
                          for name in self.workloads]
        return names

    def _measure(self, target, url, name, connections, counter=None):
        return measuring.measure(target, url, name + '.lua', connections,
                                 self.args.duration, self.env,
                                 counter or self.counter)

    def _measure_rounds(self, connections, results):
        args = self.args
        polling = ' +%d polls' % args.long_polls
        rounds = {name: [] for name in self._names(polling)}
        no_counter = measuring.ConnectionCounter(None, None)
        api, uwsgi, notifying = self.api, self.uwsgi, self.notifying
        for number in range(args.rounds):
            print('%d connections, round %d/%d' % (
                connections, number + 1, args.rounds), file=sys.stderr)
            rounds['ceiling'].append(self._measure(
                self.trivial_target, self.trivial_url, 'trivial',
                connections, no_counter))
            for name in self.workloads:
                rounds[name].append(self._measure(
                    self.api_target, api.base_url, name, connections))
                if notifying is not None:
                    rounds[name + servers.NOTIFYING].append(self._measure(
                        notifying[1], notifying[0].base_url, name,
                        connections))
                if uwsgi is not None:
                    rounds[name + servers.UWSGI].append(self._measure(
                        uwsgi[1], uwsgi[0].base_url, name, connections))
            if args.long_polls:
                with long_polls.LongPolls(api.port, args.long_polls):
                    for name in self.workloads:
                        rounds[name + polling].append(self._measure(
                            self.api_target, api.base_url, name,
                            connections))
                if uwsgi is not None:
                    with long_polls.LongPolls(uwsgi[0].port,
                                              args.long_polls):
                        for name in self.workloads:
                            rounds[name + servers.UWSGI + polling].append(
                                self._measure(uwsgi[1], uwsgi[0].base_url,
                                              name, connections))
        medians, ceiling = report.summarize(rounds, results, connections)
        report.print_table(
            '%s, %s, %s, %d connections, medians of %d rounds of %d s' % (
                args.backend, args.auth, report.label_for(args),
                connections, args.rounds, args.duration), medians, ceiling)
        if notifying is not None:
            report.print_notification_cost(medians, self.workloads)
        if args.long_polls:
            report.print_long_poll_cost(medians, self.workloads, polling)
        if uwsgi is not None:
            report.print_uwsgi_ratio(medians, self.workloads, polling
                                     if args.long_polls else None)

    def _run_modes(self, results):
        args = self.args
        if args.large:
            results['large'] = self._run_large()
        if args.long_polls:
            results['wakeups'] = long_polls.run_wakeups(
                self.workdir, self.connection, args.auth,
                self.keystone_sections, self.options, self.api,
                args.wakeups, self.cleanups)
            if self.uwsgi is not None:
                results['wakeups uwsgi'] = long_polls.run_wakeups(
                    self.workdir, self.connection, args.auth,
                    self.keystone_sections, self.options, self.uwsgi[0],
                    args.wakeups, self.cleanups, other=self.api,
                    label='uwsgi')
        if args.scaling:
            results['scaling'] = scenarios.run_scaling(
                args, self.api, self.api_target, self.connection, self.env,
                self.counter)
        if args.soak:
            results['soak'] = scenarios.run_soak(
                args, self.api, self.api_target, self.env, self.counter)

    def _run_large(self):
        """A second server with ``[api] max_container_size`` raised for the
        large container (the default is 1 MiB)."""
        large_options = {section: dict(values)
                         for section, values in self.options.items()}
        large_options.setdefault('api', {})['max_container_size'] = \
            str(workloads.LARGE_CONTAINER_LIMIT)
        large_dir = os.path.join(self.workdir, 'large')
        os.makedirs(large_dir)
        large_api = servers.start_api(large_dir, self.connection,
                                      self.args.auth, self.keystone_sections,
                                      large_options)
        self.cleanups.append(large_api.stop)
        driver = workloads.open_driver(self.connection, large_options)
        try:
            return scenarios.run_large(large_api, driver, self.user_ids[0],
                                       self.headers_list[0])
        finally:
            driver.close()
