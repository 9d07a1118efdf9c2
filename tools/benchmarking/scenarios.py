"""The benchmark's modes beyond the workload tables: a large container
one request at a time (--large), latency as the store grows (--scaling)
and a long run of the mix (--soak)."""

import random
import statistics
import sys
import time
import uuid

import requests

from benchmarking import measuring
from benchmarking import report
from benchmarking import workloads


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


def run_large(api, driver, user_id, headers, count=200):
    """GET one path, HEAD, a conditional GET answered 304 and a GET of the
    whole of :func:`workloads.seed_large`'s container, as ``user_id``
    (``headers`` authenticate as that user); ``driver`` stores it."""
    workloads.seed_large(driver, user_id)
    session = requests.Session()
    whole = session.get(api.url('/v1/large'), headers=headers, timeout=120)
    whole.raise_for_status()
    size = len(whole.content)
    etag = whole.headers['ETag']

    def random_path():
        return api.url('/v1/large/k%05d/name'
                       % random.randrange(workloads.LARGE_MEMBERS))

    requests_made = [
        ('GET one path', 'GET', random_path, headers, count, 200),
        ('HEAD', 'HEAD', api.url('/v1/large'), headers, count, 200),
        ('GET 304', 'GET', api.url('/v1/large'),
         dict(headers, **{'If-None-Match': etag}), count, 304),
        ('GET whole', 'GET', api.url('/v1/large'), headers, max(
            10, count // 10), 200),
    ]
    print('\nlarge container: %d objects, %d bytes, one request at a time '
          '([api] max_container_size = %d for this part)'
          % (workloads.LARGE_MEMBERS, size, workloads.LARGE_CONTAINER_LIMIT))
    print('%-14s %8s %8s %8s' % ('request', 'count', 'p50 ms', 'p99 ms'))
    results = {'bytes': size}
    for label, method, url, request_headers, repeat, expect in requests_made:
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


# One user's containers GET /v1 pages through as --scaling grows them.
LISTED_COUNTS = (100, 1000, 10000)


def run_scaling(args, api, target, connection, env, counter):
    """GET and POST latency as the store grows to each of
    ``args.scaling_sizes`` containers, then GET /v1 (one page of 100) for
    a user with each of :data:`LISTED_COUNTS`. The containers are stored
    through the driver, without the per-user container quota (one user
    holds 10,000: an operator would raise it so); the server measured
    keeps its options."""
    connections = args.connections[0]
    driver = workloads.open_driver(connection, {'quota': {
        'containers_per_user': '-1', 'bytes_per_user': '-1'}})
    try:
        scaling = {}
        stored = 0
        for size in args.scaling_sizes:
            started = time.monotonic()
            workloads.seed_containers(driver, size - stored,
                                      'scale%d' % size)
            print('stored %d containers in %.0f s' % (
                size - stored, time.monotonic() - started), file=sys.stderr)
            stored = size
            row = {}
            for name in ('get_path', 'post_path'):
                runs = [measuring.measure(target, api.base_url,
                                          name + '.lua', connections,
                                          args.duration, env, counter)
                        for _ in range(args.rounds)]
                row[name] = report.median_row(runs)
            scaling[str(size)] = row
            print('scaling %8d containers: GET p50 %.2f ms, POST p50 '
                  '%.2f ms' % (size, row['get_path']['p50_ms'],
                               row['post_path']['p50_ms']))
        listing = {}
        user = 'lister-' + uuid.uuid4().hex
        created = 0
        for count in LISTED_COUNTS:
            workloads.seed_user_containers(driver, user, created, count)
            created = count
            list_env = dict(env, BENCH_LIST_USER=user, BENCH_LIST_LIMIT='100')
            runs = [measuring.measure(target, api.base_url, 'get_list.lua',
                                      connections, args.duration, list_env,
                                      counter)
                    for _ in range(args.rounds)]
            listing[str(count)] = report.median_row(runs)
            page = requests.get(api.url('/v1?limit=100'),
                                headers={'X-User-Id': user}, timeout=30)
            if len(page.json()) != 100:
                raise RuntimeError('GET /v1?limit=100 gave %s' % page.text)
            print('GET /v1?limit=100 with %5d containers: p50 %.2f ms'
                  % (count, listing[str(count)]['p50_ms']))
    finally:
        driver.close()
    return {'containers': scaling, 'listing': listing}


def run_soak(args, api, target, env, counter):
    connections = args.connections[0]
    window = min(30, max(5, args.soak // 10))
    start = measuring.measure(target, api.base_url, 'mix.lua', connections,
                              window, env, counter)
    start['rss_mb'] = target.rss_mb()
    remaining = args.soak - 2 * window
    samples = []
    while remaining > 0:
        chunk = min(60, remaining)
        measuring.measure(target, api.base_url, 'mix.lua', connections,
                          chunk, env, counter)
        samples.append(target.rss_mb())
        remaining -= chunk
    end = measuring.measure(target, api.base_url, 'mix.lua', connections,
                            window, env, counter)
    end['rss_mb'] = target.rss_mb()
    print('soak %d s: RSS %.1f -> %.1f MB, p50 %.2f -> %.2f ms, '
          'p99 %.2f -> %.2f ms' % (args.soak, start['rss_mb'],
                                   end['rss_mb'], start['p50_ms'],
                                   end['p50_ms'], start['p99_ms'],
                                   end['p99_ms']))
    return {'start': start, 'end': end, 'rss_samples_mb': samples}
