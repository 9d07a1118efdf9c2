"""Keystone against noauth (--auth compare): a noauth and a keystone
cloudprefs-api on one database with the same users' data, each workload
run against one and then the other in every round."""

import os
import sys
import tempfile
import time

from benchmarking import measuring
from benchmarking import report
from benchmarking import servers
from benchmarking import workloads


def compare_auth(args, options, label):
    """Both pipelines side by side: a noauth and a keystone cloudprefs-api
    on one database, the same users' data, each workload run against one
    and then the other in every round (which goes first alternates)."""
    workdir = tempfile.mkdtemp(prefix='cloudprefs-bench-')
    cleanups = []
    results = report.describe_run(args, options)
    results['tokens'] = args.tokens or args.users
    try:
        connection = servers.make_connection(args.backend, workdir, cleanups)
        counter = measuring.ConnectionCounter(args.backend, connection)
        cleanups.append(counter.close)
        print('creating %d users and %d tokens in Keystone'
              % (args.users, args.tokens or args.users), file=sys.stderr)
        keystone = servers.BenchKeystone(workdir, args.users, cleanups,
                                         args.tokens)
        apis = {}
        for auth in ('noauth', 'keystone'):
            os.makedirs(os.path.join(workdir, 'api-' + auth))
            apis[auth] = servers.start_api(
                os.path.join(workdir, 'api-' + auth), connection, auth,
                keystone.options, options)
            cleanups.append(apis[auth].stop)
        driver = workloads.open_driver(connection, options)
        try:
            workloads.seed(driver, keystone.user_ids)
        finally:
            driver.close()
        files = {}
        for name, lines in (('tokens', keystone.tokens),
                            ('user_ids', keystone.user_ids)):
            files[name] = os.path.join(workdir, name)
            with open(files[name], 'w') as out:
                out.write('\n'.join(lines) + '\n')
        base_env = dict(os.environ, BENCH_LUA_DIR=workloads.LUA_DIR)
        envs = {'noauth': dict(base_env,
                               BENCH_USER_IDS_FILE=files['user_ids']),
                'keystone': dict(base_env, BENCH_TOKENS_FILE=files['tokens'])}
        targets = {auth: measuring.Measured(server.process.pid)
                   for auth, server in apis.items()}
        trivial_target, trivial_url = servers.start_trivial(cleanups)
        no_counter = measuring.ConnectionCounter(None, None)
        names = [name for name in args.workloads.split(',') if name]
        cached = CachedTokens(apis['keystone'], keystone.tokens,
                              options, args.duration)
        for connections in results['connections']:
            rounds = {'ceiling': []}
            for name in names:
                rounds[name + ' noauth'] = []
                rounds[name + ' keystone'] = []
            for number in range(args.rounds):
                print('%d connections, round %d/%d' % (
                    connections, number + 1, args.rounds), file=sys.stderr)
                rounds['ceiling'].append(measuring.measure(
                    trivial_target, trivial_url, 'trivial.lua', connections,
                    args.duration, base_env, no_counter))
                order = ('noauth', 'keystone') if number % 2 == 0 else (
                    'keystone', 'noauth')
                for name in names:
                    for auth in order:
                        if auth == 'keystone':
                            cached.keep_cached()
                        before = keystone.memcached_counts()
                        row = measuring.measure(
                            targets[auth], apis[auth].base_url,
                            name + '.lua', connections, args.duration,
                            envs[auth], counter)
                        after = keystone.memcached_counts()
                        for key in before:
                            row['memcached_' + key] = (after[key]
                                                       - before[key])
                        rounds['%s %s' % (name, auth)].append(row)
            medians, ceiling = report.summarize(rounds, results, connections)
            report.print_table(
                '%s, keystone and noauth, %s, %d users, %d tokens, '
                '%d connections, medians of %d rounds of %d s' % (
                    args.backend, label, args.users, results['tokens'],
                    connections, args.rounds, args.duration),
                medians, ceiling)
            print_auth_cost(medians, names)
    finally:
        servers.clean_up(cleanups, workdir)
    report.write_output(args, results)
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
        servers.warm(self.server, [{'X-Auth-Token': token}
                                   for token in self.tokens])
        self.validated_at = started


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
