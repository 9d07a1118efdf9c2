"""Notifications of writes on the real RabbitMQ, and the purge of the
data of users Keystone deletes (cloudprefs-keystone-listener and
cloudprefs-manage purge_deleted_users) against the real Keystone of the
keystone tests, which sends its notifications to the same broker."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
import requests

from cloudprefs.storage import owners
from tests.functional import test_keystone
from tests.support import api_server
from tests.support import network
from tests.support import rabbitmq

PURGE = 'cloudprefs.user.purge'


def notification_sections(url, **notifications):
    return {'oslo_messaging_notifications': {'driver': 'messagingv2',
                                             'transport_url': url},
            'oslo_messaging_rabbit': {'amqp_durable_queues': 'true'},
            'notifications': notifications}


@pytest.fixture(scope='module')
def collector(rabbitmq_vhost):
    """Every notification of cloudprefs (exchange ``openstack``)."""
    collector = rabbitmq.Collector(rabbitmq_vhost.url())
    yield collector
    collector.stop()


# Notifications of writes --------------------------------------------------

@pytest.fixture(scope='module')
def api(rabbitmq_vhost, collector, tmp_path_factory):
    server = api_server.ApiServer(
        str(tmp_path_factory.mktemp('notifying-api')), connection=None,
        sections=dict(notification_sections(rabbitmq_vhost.url()),
                      DEFAULT={'api_workers': '2'}))
    server.start()
    yield server
    server.stop()


def write(api, method, path, body=None, user='alice', **headers):
    headers.setdefault('X-User-Id', user)
    headers.setdefault('X-Project-Id', 'project-of-' + user)
    response = requests.request(method, api.url(path), data=body,
                                headers=headers, timeout=30)
    assert response.status_code == 204, response.text
    return response


def events_for(collector, container, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = [message for message in collector.messages
                 if message['payload'].get('container') == container]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_each_change_is_notified_with_its_payload(api, collector):
    container = 'c-' + uuid.uuid4().hex
    request_id = 'req-' + str(uuid.uuid4())
    created = write(api, 'POST', '/v1/' + container, '{"secret": "s3cr3t"}',
                    **{'X-Openstack-Request-Id': request_id})
    updated = write(api, 'POST', '/v1/%s/k' % container, '[1, 2]')
    write(api, 'POST', '/v1/%s/k' % container, '[1, 2]')      # no change
    write(api, 'DELETE', '/v1/%s/missing' % container)         # no change
    write(api, 'DELETE', '/v1/' + container)
    write(api, 'DELETE', '/v1/' + container)                   # no change
    events = events_for(collector, container, 3)
    time.sleep(1)       # and nothing more comes
    events = events_for(collector, container, 3)
    # Two workers send independently: the order between them may vary.
    by_type = {event['event_type']: event for event in events}
    assert len(events) == 3 and sorted(by_type) == [
        'cloudprefs.container.create', 'cloudprefs.container.delete',
        'cloudprefs.container.update']
    first, second, third = (by_type['cloudprefs.container.' + action]
                            ['payload'] for action in
                            ('create', 'update', 'delete'))
    assert first == {
        'user_id': 'alice', 'layer': 'user', 'layer_id': 'alice',
        'project_id': 'project-of-alice',
        'initiator_user_id': 'alice',
        'request_id': created.headers['X-Openstack-Request-Id'],
        'container': container,
        'revision': created.headers['ETag'].strip('"'),
        'bytes': len('{"secret":"s3cr3t"}')}
    assert second['revision'] == updated.headers['ETag'].strip('"')
    assert second['bytes'] == len('{"secret":"s3cr3t","k":[1,2]}')
    assert (third['revision'], third['bytes']) == (None, 0)
    for event in events:
        assert event['priority'] == 'info'
        assert event['publisher_id'] == 'cloudprefs-api.%s' % (
            socket.gethostname())
        # Never the value, never the token.
        assert 's3cr3t' not in json.dumps(event)
        assert 'auth_token' not in event['context'] or \
            not event['context']['auth_token']


def test_delete_all_is_one_purge_notification(api, collector):
    user = 'u-' + uuid.uuid4().hex
    for name in ('a', 'b', 'c'):
        write(api, 'POST', '/v1/' + name, '{}', user=user)
    write(api, 'DELETE', '/v1', user=user)
    write(api, 'DELETE', '/v1', user=user)          # nothing left
    purge = collector.wait_for(
        lambda message: message['event_type'] == PURGE
        and message['payload']['user_id'] == user)
    assert purge is not None
    assert purge['payload']['containers'] == 3
    time.sleep(1)
    assert len([message for message in collector.of_type(PURGE)
                if message['payload']['user_id'] == user]) == 1


class BlackHole:
    """A TCP port that accepts connections and never answers: a broker
    that hangs."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]

    def close(self):
        self.listener.close()


@pytest.mark.parametrize('broker', ['refusing', 'hanging'])
def test_unreachable_bus_never_fails_or_blocks_writes(tmp_path, broker):
    hole = BlackHole()
    port = hole.port if broker == 'hanging' else network.free_port()
    server = api_server.ApiServer(
        str(tmp_path), connection=None,
        sections=notification_sections(
            'rabbit://guest:guest@127.0.0.1:%d/' % port, queue_size='5'))
    server.start()
    try:
        for number in range(40):
            response = requests.post(server.url('/v1/c/k%d' % number),
                                     data='1', timeout=10,
                                     headers={'X-User-Id': 'alice'})
            assert response.status_code == 204
        assert requests.get(server.url('/v1/c'), timeout=10, headers={
            'X-User-Id': 'alice'}).json() == {
                'k%d' % number: 1 for number in range(40)}
        # The relay process counts and logs what it cannot send: its
        # senders wait on the broker (oslo.messaging retries a refused
        # connection, and a hanging one until its timeout) and what comes
        # meanwhile finds its queue full and is dropped.
        expected = r'lost so far: \d+ could not be sent[^,]*, [1-9]\d* dropped'
        # (One warning every 10 s at most.)
        deadline = time.monotonic() + 25
        while not re.search(expected, server.log()):
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.2)
        # Counted, not a traceback per message.
        assert 'Could not send notification' not in server.log()
    finally:
        server.stop()
        hole.close()


# Purging the data of users Keystone deletes -------------------------------

@pytest.fixture(scope='module')
def keystone_deployment(keystone, memcached, rabbitmq_vhost,
                        tmp_path_factory):
    """cloudprefs-api behind Keystone on an SQLite file, notifying; the
    listener is started by each test (``listener``)."""
    workdir = tmp_path_factory.mktemp('purge')
    database = workdir / 'cloudprefs.sqlite'
    service = keystone.users['service']
    sections = dict(
        notification_sections(rabbitmq_vhost.url()),
        keystone_authtoken=test_keystone.authtoken_settings(keystone,
                                                            memcached),
        service_credentials={
            'auth_type': 'password', 'auth_url': keystone.auth_url,
            'username': service['name'], 'password': service['password'],
            'user_domain_name': 'Default', 'system_scope': 'all'})
    server = api_server.ApiServer(str(workdir),
                                  connection='sqlite:///%s' % database,
                                  auth_strategy='keystone',
                                  sections=sections)
    server.start()
    yield {'api': server, 'database': database, 'workdir': workdir,
           'conf': server.config_path}
    server.stop()


class Listener:
    def __init__(self, conf_path, workdir, name='listener'):
        self.command = [os.path.join(os.path.dirname(sys.executable),
                                     'cloudprefs-keystone-listener'),
                        '--config-file', conf_path]
        self.log_path = os.path.join(workdir, name + '.log')
        self.process = None

    def start(self):
        log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(self.command, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        self.wait_for_log('Listening for identity.user.deleted')
        return self

    def wait_for_log(self, text, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            assert self.process.poll() is None, self.log()
            time.sleep(0.1)
        raise AssertionError('%r not in the listener log:\n%s'
                             % (text, self.log()[-3000:]))

    def log(self):
        with open(self.log_path, errors='replace') as log_file:
            return log_file.read()

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self):
        network.stop_process(self.process, timeout=15)


@pytest.fixture
def listener(keystone_deployment):
    running = []

    def start(conf_path=None, name='listener'):
        started = Listener(conf_path or keystone_deployment['conf'],
                           str(keystone_deployment['workdir']),
                           name).start()
        running.append(started)
        return started

    yield start
    for started in running:
        if started.process.poll() is None:
            started.stop()


def new_user_with_data(keystone, api, containers=('settings', 'devices')):
    user = keystone.create_user('purge-' + uuid.uuid4().hex[:8], 'demo',
                                'member')
    token = keystone.token(user)
    for name in containers:
        response = requests.post(api.url('/v1/' + name),
                                 data='{"theme": "dark"}', timeout=30,
                                 headers={'X-Auth-Token': token})
        assert response.status_code == 204, response.text
    return user


def stored(database, user_id):
    """The user's containers and usage rows, read from the database."""
    with sqlite3.connect(str(database)) as connection:
        containers = connection.execute(
            'SELECT COUNT(*) FROM containers WHERE user_id = ?',
            (user_id.encode('utf-8'),)).fetchone()[0]
        usage = connection.execute(
            'SELECT COUNT(*) FROM user_usage WHERE user_id = ?',
            (user_id.encode('utf-8'),)).fetchone()[0]
    return containers, usage


def wait_until_purged(database, user_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while stored(database, user_id) != (0, 0):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_user_deleted_in_keystone_is_purged(keystone, keystone_deployment,
                                            listener, collector):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    running = listener()
    user = new_user_with_data(keystone, api)
    assert stored(database, user['id']) == (2, 1)
    keystone.delete_user(user['id'])
    assert wait_until_purged(database, user['id'], timeout=10)
    purge = collector.wait_for(
        lambda message: message['event_type'] == PURGE
        and message['payload']['user_id'] == user['id'])
    assert purge is not None
    assert purge['payload']['containers'] == 2
    assert purge['publisher_id'].startswith('cloudprefs-keystone-listener.')
    running.wait_for_log('Purged the data of user %s' % user['id'])


def test_basic_format_and_other_events(keystone, keystone_deployment,
                                       listener, rabbitmq_vhost):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    running = listener()
    kept = new_user_with_data(keystone, api)
    purged = new_user_with_data(keystone, api)
    assert stored(database, purged['id']) == (2, 1)
    keystone.delete_user(purged['id'])
    for event_type, payload in (
            ('identity.user.updated', {'resource_info': kept['id']}),
            ('identity.project.deleted', {'resource_info': kept['id']}),
            # Forged: Keystone still has this user, in either format.
            ('identity.user.deleted', {'resource_info': kept['id']}),
            ('identity.user.deleted', {'target': {'id': kept['id']},
                                       'outcome': 'success'}),
            ('identity.user.deleted', {'resource_info': purged['id']})):
        rabbitmq.publish(rabbitmq_vhost.url(), 'keystone',
                         'identity.testhost', event_type, payload)
    assert wait_until_purged(database, purged['id'])
    # Both forged deletions were heard, checked with Keystone and dropped.
    forged = 'Keystone still has user %s' % kept['id']
    deadline = time.monotonic() + 30
    while running.log().count(forged) < 2:
        assert time.monotonic() < deadline, running.log()[-3000:]
        time.sleep(0.1)
    assert stored(database, kept['id']) == (2, 1)


def test_listener_killed_mid_purge_finishes_after_restart(
        keystone, keystone_deployment, listener):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    first = listener()
    user = new_user_with_data(keystone, api)
    # Another process holds the database's write lock: the purge starts
    # and cannot finish.
    blocker = sqlite3.connect(str(database), isolation_level=None)
    blocker.execute('BEGIN EXCLUSIVE')
    try:
        keystone.delete_user(user['id'])
        time.sleep(3)               # the listener is inside the purge
        assert stored(database, user['id']) == (2, 1)
        first.kill()
    finally:
        blocker.execute('ROLLBACK')
        blocker.close()
    assert stored(database, user['id']) == (2, 1)
    listener(name='listener-restarted')
    assert wait_until_purged(database, user['id'], timeout=15)


def test_listener_reconnects_after_losing_the_broker(
        keystone, keystone_deployment, listener, rabbitmq_vhost, tmp_path):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    proxy = network.TCPProxy(rabbitmq.HOST, rabbitmq.PORT)
    conf_path = str(tmp_path / 'proxied.conf')
    with open(keystone_deployment['conf']) as original:
        text = original.read()
    with open(conf_path, 'w') as proxied:
        proxied.write(text.replace(rabbitmq_vhost.url(),
                                   rabbitmq_vhost.url(port=proxy.port)))
    try:
        running = listener(conf_path, name='listener-proxied')
        user = new_user_with_data(keystone, api)
        assert stored(database, user['id']) == (2, 1)
        proxy.cut()                 # the broker is gone for the listener
        keystone.delete_user(user['id'])    # Keystone still reaches it
        time.sleep(3)
        assert stored(database, user['id']) == (2, 1)
        proxy.restore()
        assert wait_until_purged(database, user['id'], timeout=30), (
            running.log()[-3000:])
    finally:
        proxy.close()


def manage(conf_path, *args):
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'cloudprefs-manage'),
         '--config-file', conf_path, *args],
        capture_output=True, text=True, timeout=120)


def test_purge_deleted_users_catches_up(keystone, keystone_deployment,
                                        tmp_path):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    kept = new_user_with_data(keystone, api)
    deleted = new_user_with_data(keystone, api)
    keystone.delete_user(deleted['id'])     # no listener runs
    ghost = 'never-in-keystone-' + uuid.uuid4().hex
    with sqlite3.connect(str(database)) as connection:
        connection.execute(
            "INSERT INTO containers (user_id, name, revision, modified_us,"
            " size, value) VALUES (?, ?, 1, 1, 2, '{}')",
            (ghost.encode('utf-8'), b'c'))
    conf_path = keystone_deployment['conf']

    dry = manage(conf_path, 'purge_deleted_users', '--dry-run')
    assert dry.returncode == 0, dry.stderr
    assert '%s: deleted in Keystone, would be purged' % deleted['id'] in \
        dry.stdout
    assert ghost + ': deleted in Keystone, would be purged' in dry.stdout
    assert kept['id'] not in dry.stdout
    assert stored(database, deleted['id']) == (2, 1)

    done = manage(conf_path, 'purge_deleted_users')
    assert done.returncode == 0, done.stderr
    assert '%s: deleted in Keystone, purged (2 containers)' % deleted['id'] \
        in done.stdout
    assert stored(database, deleted['id']) == (0, 0)
    assert stored(database, ghost)[0] == 0
    assert stored(database, kept['id']) == (2, 1)


def test_purge_deleted_users_never_purges_on_keystone_errors(
        keystone, keystone_deployment, tmp_path):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    deleted = new_user_with_data(keystone, api)
    keystone.delete_user(deleted['id'])
    original = open(keystone_deployment['conf']).read()
    # Keystone down; and Keystone refusing (a project-scoped token may
    # not read users by Keystone's default policy).
    unreachable = original.replace(
        keystone.auth_url, 'http://127.0.0.1:%d/v3' % network.free_port())
    refused = original.replace('system_scope = all\n', '').replace(
        '[service_credentials]', '[unused_credentials]')
    for name, text in (('unreachable', unreachable), ('refused', refused)):
        conf_path = str(tmp_path / (name + '.conf'))
        with open(conf_path, 'w') as conf_file:
            conf_file.write(text)
        result = manage(conf_path, 'purge_deleted_users')
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        assert 'not checked, Keystone did not answer' in result.stdout
        assert stored(database, deleted['id']) == (2, 1), name
    done = manage(keystone_deployment['conf'], 'purge_deleted_users')
    assert done.returncode == 0
    assert stored(database, deleted['id']) == (0, 0)


# The shared layers of deleted projects (API 1.4) ---------------------------

def new_project_with_a_layer(keystone, api):
    """A project whose manager stored two containers in its layer, and
    the manager (whose own data stays)."""
    name = 'layered-' + uuid.uuid4().hex[:8]
    manager = keystone.create_user('m-' + name, name, 'manager')
    token = keystone.token(manager)
    for container in ('defaults', 'build'):
        response = requests.post(
            api.url('/v1/%s?scope=project' % container), data='{"a": 1}',
            timeout=30, headers={'X-Auth-Token': token,
                                 'OpenStack-API-Version': 'preferences 1.4'})
        assert response.status_code == 204, response.text
    response = requests.post(api.url('/v1/own'), data='{}', timeout=30,
                             headers={'X-Auth-Token': token})
    assert response.status_code == 204, response.text
    return keystone.ensure_project(name), manager


def layer_key(project_id):
    return owners.Owner(owners.PROJECT, project_id).key


def test_project_deleted_in_keystone_purges_its_layer(
        keystone, keystone_deployment, listener, collector):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    running = listener()
    project_id, manager = new_project_with_a_layer(keystone, api)
    kept_id, _kept_manager = new_project_with_a_layer(keystone, api)
    assert stored(database, layer_key(project_id)) == (2, 1)
    keystone.delete_project(project_id)
    assert wait_until_purged(database, layer_key(project_id), timeout=10)
    purge = collector.wait_for(
        lambda message: message['event_type'] == 'cloudprefs.project.purge'
        and message['payload']['layer_id'] == project_id)
    assert purge is not None
    assert purge['payload']['containers'] == 2
    assert purge['payload']['user_id'] is None
    running.wait_for_log('Purged the data of project %s' % project_id)
    # The manager's own data, and another project's layer, stay.
    assert stored(database, manager['id']) == (1, 1)
    assert stored(database, layer_key(kept_id)) == (2, 1)


def test_purge_deleted_users_catches_up_with_projects(
        keystone, keystone_deployment):
    api, database = keystone_deployment['api'], keystone_deployment['database']
    project_id, manager = new_project_with_a_layer(keystone, api)
    kept_id, _kept_manager = new_project_with_a_layer(keystone, api)
    keystone.delete_project(project_id)     # no listener runs
    conf_path = keystone_deployment['conf']
    dry = manage(conf_path, 'purge_deleted_users', '--dry-run')
    assert dry.returncode == 0, dry.stderr
    assert 'project %s: deleted in Keystone, would be purged' % project_id \
        in dry.stdout
    assert kept_id not in dry.stdout
    # No layer is taken for a user: none is reported as one.
    assert '\x1f' not in dry.stdout
    done = manage(conf_path, 'purge_deleted_users')
    assert done.returncode == 0, done.stderr
    assert ('project %s: deleted in Keystone, purged (2 containers)'
            % project_id) in done.stdout
    assert stored(database, layer_key(project_id)) == (0, 0)
    assert stored(database, layer_key(kept_id)) == (2, 1)
    assert stored(database, manager['id']) == (1, 1)
