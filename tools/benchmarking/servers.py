"""The servers a benchmark runs: the database, cloudprefs-api, uwsgi, a
notifying cloudprefs-api, the trivial app that gives the ceiling, and a
real Keystone with memcached."""

import json
import os
import shutil
import subprocess
import sys

from benchmarking import measuring
from benchmarking import trivial_app
from benchmarking import workloads


def start_trivial(cleanups):
    """The trivial app in a process of its own: (Measured, base URL)."""
    from tests.support import network
    port = network.free_port()
    trivial = subprocess.Popen(
        [sys.executable, trivial_app.__file__, str(port),
         json.dumps(workloads.SMALL_VALUE, separators=(',', ':'))],
        stderr=subprocess.DEVNULL)
    cleanups.append(trivial.terminate)
    network.wait_for_port(port, process=trivial)
    return measuring.Measured(trivial.pid), 'http://127.0.0.1:%d' % port


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
    return server, measuring.Measured(server.process.pid, tree=True)


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
    return server, measuring.Measured(server.process.pid)


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


def warm(server, headers_list):
    """One GET /v1 with each of ``headers_list`` through ``server``: its
    worker is loaded and, with Keystone, each token validated and cached
    as on a running service. Eight at a time: the benchmark's Keystone has
    eight threads, and under uwsgi a kept-alive connection holds one."""
    import concurrent.futures
    import requests
    session = requests.Session()

    def use(headers):
        session.get(server.url('/v1'), headers=headers,
                    timeout=60).raise_for_status()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(use, headers_list))
    finally:
        session.close()


def clean_up(cleanups, workdir):
    for cleanup in reversed(cleanups):
        try:
            cleanup()
        except Exception as error:     # keep cleaning up
            print('cleanup failed: %r' % error, file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)
