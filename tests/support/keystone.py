"""A real Keystone (from PyPI, pinned) served by uwsgi, and memcached.

Keystone lives in a virtualenv of its own (``.keystone-venv`` beside the
repository, made by tools/run-tests.sh; ``CLOUDPREFS_TEST_KEYSTONE_VENV``
names another). It runs with fernet tokens on a free loopback port, on a
throw-away database of the machine's PostgreSQL (tests/support/sqlservers):
on SQLite, two of uwsgi's threads writing at once made Keystone fail with
"database is locked", which uwsgi answers by closing the connection
without a response (tempest's dynamic credentials hit it). A missing
Keystone fails the tests.
"""

import getpass
import os
import shutil
import subprocess
import time
import uuid

from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1.identity import v3
from keystoneauth1 import session as ksa_session

from tests.support import config
from tests.support import network
from tests.support import sqlservers

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VENV_ENV = 'CLOUDPREFS_TEST_KEYSTONE_VENV'
ADMIN_PASSWORD = 'admin-' + uuid.uuid4().hex
DOMAIN = 'Default'


def keystone_venv():
    return config.tool_venv(VENV_ENV, '.keystone-venv', 'keystone-manage',
                            'Keystone')


def password_session(auth_url, username, password, project_name=None,
                     system_scope=None, domain_name=None):
    auth = v3.Password(auth_url=auth_url, username=username,
                       password=password, user_domain_name=DOMAIN,
                       project_name=project_name,
                       project_domain_name=DOMAIN if project_name else None,
                       system_scope=system_scope, domain_name=domain_name)
    return ksa_session.Session(auth=auth)


class KeystoneServer:

    def __init__(self, workdir):
        self.workdir = workdir
        self.venv = keystone_venv()
        self.port = network.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.auth_url = self.url + '/v3'
        self.process = None
        self.database_url = None
        self.config_path = os.path.join(workdir, 'keystone.conf')

    def _manage(self, *args):
        subprocess.run(
            [os.path.join(self.venv, 'bin', 'keystone-manage'),
             '--config-file', self.config_path, *args],
            check=True, capture_output=True, timeout=300)

    def start(self, notifications_url=None, token_expiration=None,
              processes=1, cheap_passwords=False):
        """Start Keystone; with ``notifications_url``, it sends its
        notifications (CADF, durable queues) to that RabbitMQ, as a
        devstack Keystone does; ``token_expiration`` (seconds) shortens
        the life of its tokens; ``processes``: uwsgi's, of four threads
        each; ``cheap_passwords``: bcrypt's cheapest cost, for a Keystone
        that makes many users and password tokens (the benchmark)."""
        self.database_url = sqlservers.create_database('postgresql')
        options = {
            'DEFAULT': {'log_file': os.path.join(self.workdir,
                                                 'keystone.log')},
            'database': {'connection': self.database_url},
            'token': {'provider': 'fernet',
                      'expiration': str(token_expiration or 3600)},
            'fernet_tokens': {'key_repository': os.path.join(
                self.workdir, 'fernet-keys')},
            'credential': {'key_repository': os.path.join(
                self.workdir, 'credential-keys')},
        }
        if cheap_passwords:
            options['identity'] = {'password_hash_rounds': '4'}
        if notifications_url:
            options['oslo_messaging_notifications'] = {
                'driver': 'messagingv2', 'transport_url': notifications_url}
            options['oslo_messaging_rabbit'] = {
                'amqp_durable_queues': 'true'}
        config.write_config_file(self.config_path, options)
        user = getpass.getuser()
        self._manage('db_sync')
        self._manage('fernet_setup', '--keystone-user', user,
                     '--keystone-group', user)
        self._manage('credential_setup', '--keystone-user', user,
                     '--keystone-group', user)
        self._manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                     '--bootstrap-admin-url', self.auth_url,
                     '--bootstrap-public-url', self.auth_url,
                     '--bootstrap-internal-url', self.auth_url,
                     '--bootstrap-region-id', 'RegionOne')
        log = open(os.path.join(self.workdir, 'uwsgi.log'), 'ab')
        # --http11-socket: plain --http-socket drops keep-alive, and
        # keystoneauth then fails with connection resets.
        self.process = subprocess.Popen(
            [os.path.join(self.venv, 'bin', 'uwsgi'),
             '--http11-socket', '127.0.0.1:%d' % self.port,
             '--module', 'keystone.wsgi.api:application',
             '--home', self.venv, '--master', '--processes', str(processes),
             '--threads', '4', '--die-on-term', '--lazy-apps',
             '--env', 'OS_KEYSTONE_CONFIG_FILES=%s' % self.config_path],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        network.wait_for_port(self.port, timeout=60, process=self.process)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.admin_session().get_token()
                return self
            except ksa_exceptions.ClientException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self):
        network.stop_process(self.process, timeout=30)
        if self.database_url is not None:
            sqlservers.drop_database('postgresql', self.database_url)
            self.database_url = None

    def admin_session(self):
        return password_session(self.auth_url, 'admin', ADMIN_PASSWORD,
                                project_name='admin')

    # Identity API calls, as the bootstrap admin ------------------------------

    def _call(self, method, path, **kwargs):
        response = self.admin_session().request(
            self.auth_url + path, method, **kwargs)
        return response.json() if response.content else None

    def role_id(self, name):
        roles = self._call('GET', '/roles?name=%s' % name)['roles']
        return roles[0]['id']

    def ensure_project(self, name):
        found = self._call('GET', '/projects?name=%s' % name)['projects']
        if found:
            return found[0]['id']
        return self._call('POST', '/projects', json={'project': {
            'name': name, 'domain_id': 'default'}})['project']['id']

    def create_user(self, name, project, role):
        password = 'pw-' + uuid.uuid4().hex
        user = self._call('POST', '/users', json={'user': {
            'name': name, 'password': password, 'domain_id': 'default'}})
        user_id = user['user']['id']
        project_id = self.ensure_project(project)
        self._call('PUT', '/projects/%s/users/%s/roles/%s'
                   % (project_id, user_id, self.role_id(role)))
        return {'id': user_id, 'name': name, 'password': password,
                'project': project}

    def grant_system_role(self, user, role, system_tokens=True):
        """``role`` on the whole system (``openstack role add --system
        all``); with ``system_tokens``, token() gives the user
        system-scoped tokens that carry it."""
        self._call('PUT', '/system/users/%s/roles/%s'
                   % (user['id'], self.role_id(role)))
        if system_tokens:
            user['system'] = True

    def grant_domain_role(self, user, role):
        """``role`` on the Default domain; token() then gives the user
        tokens scoped to that domain."""
        self._call('PUT', '/domains/default/users/%s/roles/%s'
                   % (user['id'], self.role_id(role)))
        user['domain'] = True

    def delete_project(self, project_id):
        self._call('PATCH', '/projects/%s' % project_id,
                   json={'project': {'enabled': False}})
        self._call('DELETE', '/projects/%s' % project_id)

    def register_service(self, service_type, url, name=None):
        """Put a service in the catalog (public, internal and admin at
        ``url`` in RegionOne); returns a function that takes it out."""
        service = self._call('POST', '/services', json={'service': {
            'type': service_type, 'name': name or service_type,
            'enabled': True}})['service']
        for interface in ('public', 'internal', 'admin'):
            self._call('POST', '/endpoints', json={'endpoint': {
                'service_id': service['id'], 'interface': interface,
                'url': url, 'region_id': 'RegionOne', 'enabled': True}})
        return lambda: self._call('DELETE', '/services/%s' % service['id'])

    def delete_user(self, user_id):
        self._call('DELETE', '/users/%s' % user_id)

    def revoke(self, token):
        self._call('DELETE', '/auth/tokens',
                   headers={'X-Subject-Token': token})

    def tokens(self, user, count, threads=4):
        """``count`` distinct tokens of ``user``: the first from its
        password, the others from that token (token authentication costs
        Keystone no password hashing, so thousands take seconds)."""
        import concurrent.futures
        import requests
        first = self.token(user)
        if user.get('system'):
            scope = {'system': {'all': True}}
        else:
            scope = {'project': {'name': user['project'],
                                 'domain': {'name': DOMAIN}}}
        body = {'auth': {'identity': {'methods': ['token'],
                                      'token': {'id': first}},
                         'scope': scope}}
        session = requests.Session()

        def another(_):
            response = session.post(self.auth_url + '/auth/tokens',
                                    json=body, timeout=60)
            response.raise_for_status()
            return response.headers['X-Subject-Token']
        try:
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                return [first] + list(pool.map(another, range(count - 1)))
        finally:
            session.close()     # uwsgi gives a kept-alive connection a
            #                     thread of Keystone's four

    def token(self, user):
        """A token of ``user``: system-scoped for a user given a system
        role, otherwise scoped to the user's project."""
        if user.get('system'):
            return password_session(self.auth_url, user['name'],
                                    user['password'],
                                    system_scope='all').get_token()
        if user.get('domain'):
            return password_session(self.auth_url, user['name'],
                                    user['password'],
                                    domain_name=DOMAIN).get_token()
        return password_session(self.auth_url, user['name'],
                                user['password'],
                                project_name=user['project']).get_token()


class Memcached:
    """memcached on a free loopback port (Debian's package does not start
    one; tools/test-setup.sh installs it)."""

    def __init__(self):
        self.port = network.free_port()
        self.process = None

    def start(self):
        binary = shutil.which('memcached') or '/usr/bin/memcached'
        command = [binary, '-l', '127.0.0.1', '-p', str(self.port),
                   '-U', '0', '-m', '64']
        if os.geteuid() == 0:
            command[1:1] = ['-u', 'root']
        self.process = subprocess.Popen(command)
        network.wait_for_port(self.port, process=self.process)
        return self

    def stats(self):
        import memcache
        client = memcache.Client(['127.0.0.1:%d' % self.port])
        try:
            return {key.decode() if isinstance(key, bytes) else key:
                    int(value) if str(value).isdigit() else value
                    for key, value in client.get_stats()[0][1].items()}
        finally:
            client.disconnect_all()

    def stop(self):
        network.stop_process(self.process, timeout=10)
