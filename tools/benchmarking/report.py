"""What a run found: medians over the rounds, ratios, tables, and the
JSON kept with --output."""

import json
import os
import statistics
import sys
import time

from benchmarking import servers


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


def describe_run(args, options):
    return {'backend': args.backend, 'auth': args.auth, 'options': options,
            'connections': list(args.connections),
            'duration': args.duration, 'rounds': args.rounds,
            'date': time.strftime('%Y-%m-%d'),
            'machine': {'cpus': os.cpu_count(),
                        'python': sys.version.split()[0]},
            'runs': {}}


def write_output(args, results):
    if args.output:
        with open(args.output, 'w') as output:
            json.dump(results, output, indent=1)


def print_uwsgi_ratio(medians, workloads, polling):
    print('uwsgi (shipped uwsgi.ini, one process) / cloudprefs-api '
          '(same rounds, same database):')
    for name in workloads:
        pairs = [('', name, name + servers.UWSGI)]
        if polling:
            pairs.append((polling, name + polling,
                          name + servers.UWSGI + polling))
        for label, api_name, uwsgi_name in pairs:
            api_row, uwsgi_row = medians[api_name], medians[uwsgi_name]
            print('  %-24s %.2f (p99 %.2f -> %.2f ms, non-2xx %d -> %d)' % (
                name + label, uwsgi_row['requests_per_second']
                / api_row['requests_per_second'], api_row['p99_ms'],
                uwsgi_row['p99_ms'], api_row['non_2xx'],
                uwsgi_row['non_2xx']))


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


def print_notification_cost(medians, workloads):
    print('notifications on / off (same round, same database):')
    for name in workloads:
        plain, notifying = medians[name], medians[name + servers.NOTIFYING]
        print('  %-11s req/s ratio %.3f, CPU us/request %+.0f' % (
            name, notifying['requests_per_second']
            / plain['requests_per_second'],
            (notifying.get('server_cpu_us_per_request') or 0)
            - (plain.get('server_cpu_us_per_request') or 0)))


def print_notifications_lost(server):
    """Stop the notifying server: its relay then sends what it holds (for
    up to 10 s) and logs its final counts."""
    server.stop()
    time.sleep(12)
    counts = [line.split('] ', 1)[-1] for line in server.log().splitlines()
              if 'Notifications lost so far' in line]
    print('notifying server, last count of its relay: %s'
          % (counts[-1] if counts else 'nothing lost'))
