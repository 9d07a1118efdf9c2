#!/usr/bin/env python3
"""What the keystone pipeline costs a request, measured in one process.

    tools/auth_profile.py [--requests 20000] [--users 50] [--tokens 50]
        [--profile]
        [--set SECTION.OPTION=VALUE ...]

Starts a real Keystone and memcached (as the functional tests do), loads
the /v1 application twice from the packaged paste file on one SQLite
database, once with ``auth_strategy = noauth`` and once with
``keystone``, and calls both directly (no server, no sockets but
memcached's and Keystone's) with GETs of a small container, alternating
in blocks. It prints the CPU time per request of each and their
difference: what authenticating a known token costs, apart from the
web server's and the database's noise that tools/benchmark.py sees.
--profile also prints cProfile's breakdown of the keystone requests
(cumulative time, the functions above 1%).

Run it with the test virtualenv (tools/run-tests.sh makes it).
"""

import argparse
import copy
import cProfile
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)
sys.path.insert(0, os.path.join(REPOSITORY, 'tools'))

BLOCK = 500
SMALL_VALUE = {'theme': 'dark', 'lang': 'en', 'n': 1}


def load_application(workdir, auth_strategy, sections):
    from cloudprefs.api import deploy
    from cloudprefs.service import startup
    from tests.support import config
    options = {'DEFAULT': {'auth_strategy': auth_strategy, 'debug': 'false',
                           'state_path': os.path.join(workdir, 'state')},
               'database': {'connection': 'sqlite:///%s' % os.path.join(
                   workdir, 'profile.sqlite')}}
    for section, values in sections.items():
        options.setdefault(section, {}).update(values)
    path = config.write_config_file(
        os.path.join(workdir, auth_strategy + '.conf'), options)
    conf = startup.prepare_conf([], default_config_files=[path],
                                command_line=False)
    return deploy.load_app(conf)


def call(app, method, path, headers, body=b''):
    environ = {
        'REQUEST_METHOD': method, 'SCRIPT_NAME': '', 'PATH_INFO': path,
        'QUERY_STRING': '', 'SERVER_NAME': '127.0.0.1',
        'SERVER_PORT': '8080', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'REMOTE_ADDR': '127.0.0.1', 'wsgi.url_scheme': 'http',
        'wsgi.input': io.BytesIO(body), 'wsgi.errors': sys.stderr,
        'wsgi.multithread': False, 'wsgi.multiprocess': False,
        'wsgi.run_once': False, 'wsgi.version': (1, 0),
        'CONTENT_LENGTH': str(len(body)), 'HTTP_HOST': '127.0.0.1:8080',
        'HTTP_ACCEPT': '*/*', 'HTTP_USER_AGENT': 'auth-profile'}
    if body:
        environ['CONTENT_TYPE'] = 'application/json'
    for name, value in headers.items():
        environ['HTTP_' + name.upper().replace('-', '_')] = value
    status = []

    def start_response(line, response_headers, exc_info=None):
        status.append(line)
    chunks = app(environ, start_response)
    try:
        b''.join(chunks)
    finally:
        if hasattr(chunks, 'close'):
            chunks.close()
    return status[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=20000,
                        help='per pipeline')
    parser.add_argument('--users', type=int, default=50)
    parser.add_argument('--tokens', type=int, default=50,
                        help='distinct tokens, spread over the users')
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--set', action='append', default=[],
                        metavar='SECTION.OPTION=VALUE')
    args = parser.parse_args(argv)
    from benchmarking import runner
    from benchmarking import servers
    workdir = tempfile.mkdtemp(prefix='cloudprefs-auth-profile-')
    cleanups = []
    try:
        bench_keystone = servers.BenchKeystone(workdir, args.users,
                                               cleanups, args.tokens)
        tokens = bench_keystone.tokens
        sections = copy.deepcopy(bench_keystone.options)
        for section, values in runner.parse_options(args.set).items():
            sections.setdefault(section, {}).update(values)
        noauth = load_application(workdir, 'noauth', sections)
        keystone_app = load_application(workdir, 'keystone', sections)

        body = json.dumps(SMALL_VALUE).encode()
        for user_id in bench_keystone.user_ids:
            status = call(noauth, 'POST', '/v1/bench',
                          {'X-User-Id': user_id}, body)
            assert status.startswith('204'), status
        for token in tokens:
            status = call(keystone_app, 'GET', '/v1/bench',
                          {'X-Auth-Token': token})
            assert status.startswith('200'), status
        noauth_headers = [{'X-User-Id': user_id, 'X-Roles': 'reader,member'}
                          for user_id in bench_keystone.user_ids]
        keystone_headers = [{'X-Auth-Token': token} for token in tokens]

        def run_block(app, headers_list, start):
            before = time.process_time()
            for number in range(start, start + BLOCK):
                status = call(app, 'GET', '/v1/bench',
                              random.choice(headers_list))
                if not status.startswith('200'):
                    raise SystemExit('unexpected %s' % status)
            return time.process_time() - before

        spent = {'noauth': 0.0, 'keystone': 0.0}
        done = 0
        while done < args.requests:
            spent['noauth'] += run_block(noauth, noauth_headers, done)
            spent['keystone'] += run_block(keystone_app, keystone_headers,
                                           done)
            done += BLOCK
        per_request = {name: seconds / done * 1e6
                       for name, seconds in spent.items()}
        print('%d GETs each, %d tokens, CPU us per request: noauth %.1f, '
              'keystone %.1f, keystone costs %.1f more'
              % (done, args.tokens, per_request['noauth'],
                 per_request['keystone'],
                 per_request['keystone'] - per_request['noauth']))
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for number in range(args.requests):
                call(keystone_app, 'GET', '/v1/bench',
                     random.choice(keystone_headers))
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats('cumulative').print_stats(0.2)
    finally:
        servers.clean_up(cleanups, workdir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
