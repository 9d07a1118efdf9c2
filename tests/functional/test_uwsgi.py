"""The WSGI application under uwsgi, with the shipped uwsgi.ini, from a
virtualenv without eventlet (.wsgi-venv): what only uwsgi can show.
test_api, test_changes, test_hostile_input and test_keystone run their
tests under uwsgi too."""

import concurrent.futures
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import time
import uuid

import pytest
import requests

from cloudprefs.api import collection
from cloudprefs.conf import changes as changes_conf
from tests.support import config
from tests.support import rabbitmq
from tests.support import sqlservers
from tests.support import uwsgi_server
from tests.functional.conftest import db_sync

DEVICES = 200
POLL_WAIT = 15


def test_nothing_but_cloudprefs_api_needs_eventlet(tmp_path):
    venv = uwsgi_server.wsgi_venv()
    python = os.path.join(venv, 'bin', 'python')
    missing = subprocess.run([python, '-c', 'import eventlet'],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and 'eventlet' in missing.stderr
    for script in ('cloudprefs-manage', 'cloudprefs-keystone-listener'):
        subprocess.run([os.path.join(venv, 'bin', script), '--help'],
                       check=True, capture_output=True, timeout=60)
    conf_path = config.write_config_file(
        str(tmp_path / 'manage.conf'), {'database': {
            'connection': 'sqlite:///%s' % (tmp_path / 'db.sqlite')}})
    subprocess.run([os.path.join(venv, 'bin', 'cloudprefs-manage'),
                    '--config-file', conf_path, 'db_sync'],
                   check=True, capture_output=True, timeout=120)
    # The application, its storage drivers and notifications import none.
    subprocess.run(
        [python, '-c', 'import sys; import cloudprefs.wsgi.uwsgi_support, '
         'cloudprefs.api.deploy, cloudprefs.storage.sql, '
         'cloudprefs.storage.mongodb, cloudprefs.notifications, '
         'cloudprefs.cmd.keystone_listener; '
         'assert "eventlet" not in sys.modules'],
        check=True, capture_output=True, timeout=60)


def test_the_application_keeps_its_start_up_out_of_collections(tmp_path):
    # As cloudprefs-api's workers do: a full collection walking every
    # library object pauses every thread's request.
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    db_sync(url, str(tmp_path))
    conf_path = config.write_config_file(
        str(tmp_path / 'cloudprefs.conf'),
        {'DEFAULT': {'auth_strategy': 'noauth'},
         'database': {'connection': url}})
    python = os.path.join(uwsgi_server.wsgi_venv(), 'bin', 'python')
    shown = subprocess.run(
        [python, '-c', 'import gc, cloudprefs.wsgi.api; '
         'print("collector:", gc.get_freeze_count(), *gc.get_threshold())'],
        env=dict(os.environ, CLOUDPREFS_CONFIG_FILE=conf_path),
        check=True, capture_output=True, text=True, timeout=60)
    line = next(line for line in shown.stdout.splitlines()
                if line.startswith('collector:'))
    frozen, *thresholds = (int(n) for n in line.split()[1:])
    assert frozen > 10000
    assert tuple(thresholds) == collection.THRESHOLDS


def _process_tree(pid):
    children = []
    for task in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/children' % (pid, task)) as listed:
            children.extend(int(child) for child in listed.read().split())
    return [pid] + [tree_pid for child in children
                    for tree_pid in _process_tree(child)]


def _listening_tcp_ports(pids):
    """The TCP ports the processes ``pids`` listen on."""
    inodes = set()
    for pid in pids:
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if target.startswith('socket:['):
                inodes.add(target[len('socket:['):-1])
    ports = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as sockets:
            for line in list(sockets)[1:]:
                fields = line.split()
                if fields[3] == '0A' and fields[9] in inodes:   # LISTEN
                    ports.add(int(fields[1].rsplit(':', 1)[1], 16))
    return ports


def _uwsgi_packet(variables):
    body = b''
    for name, value in variables.items():
        for text in (name.encode(), value.encode()):
            body += struct.pack('<H', len(text)) + text
    return struct.pack('<BHB', 0, len(body), 0) + body


def test_the_workers_socket_is_no_way_in(tmp_path):
    # The shipped ini used to leave the workers' socket to uwsgi: a TCP
    # port on 127.0.0.1 where any local user could send a packet whose
    # UWSGI_FILE made the workers load and run that file.
    marker = tmp_path / 'loaded'
    planted = tmp_path / 'planted.py'
    planted.write_text(
        'open(%r, "w").close()\n'
        'def application(environ, start_response):\n'
        '    start_response("200 OK", [])\n'
        '    return [b"planted"]\n' % str(marker))
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    db_sync(url, str(tmp_path))
    server = uwsgi_server.UwsgiServer(str(tmp_path), url,
                                      overrides={'processes': '1'})
    server.start()
    try:
        pids = _process_tree(server.process.pid)
        assert _listening_tcp_ports(pids) == {server.port}
        path = re.search(r'(?m)^socket = (.*)$',
                         open(server.ini_path).read()).group(1)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        # Even through the socket (the same user may open it), a packet
        # loads nothing.
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(30)
            connection.connect(path)
            connection.sendall(_uwsgi_packet({
                'REQUEST_METHOD': 'GET', 'PATH_INFO': '/p',
                'SCRIPT_NAME': '/p', 'REQUEST_URI': '/p',
                'SERVER_NAME': 'h', 'SERVER_PORT': '80',
                'SERVER_PROTOCOL': 'HTTP/1.1',
                'UWSGI_FILE': str(planted), 'UWSGI_APPID': '/p'}))
            answer = b''
            while True:
                data = connection.recv(65536)
                if not data:
                    break
                answer += data
        assert b'planted' not in answer
        assert not marker.exists()
        assert requests.get(server.url('/'), timeout=30).status_code == 200
    finally:
        server.stop()


def test_the_shipped_listen_queue_takes_a_burst_of_clients():
    # uwsgi's default (100) made the 157 others of 256 clients opening
    # at once wait out a SYN retransmission; above net.core.somaxconn
    # uwsgi refuses to start.
    listen = int(uwsgi_server.option('listen'))
    with open('/proc/sys/net/core/somaxconn') as somaxconn:
        assert 256 < listen <= int(somaxconn.read())


def test_the_shipped_harakiri_outlives_the_longest_hold():
    max_wait = next(opt for opt in changes_conf.OPTS
                    if opt.name == 'max_wait').default
    assert int(uwsgi_server.option('harakiri')) > max_wait
    assert int(uwsgi_server.option('http-timeout')) > max_wait
    assert int(uwsgi_server.option('threads')) > 1


def test_notifications_under_uwsgi(tmp_path, rabbitmq_vhost):
    """The relay of a uwsgi worker is started with Python, not with the
    uwsgi binary that sys.executable names there."""
    collector = rabbitmq.Collector(rabbitmq_vhost.url())
    sections = {'oslo_messaging_notifications': {
        'driver': 'messagingv2', 'transport_url': rabbitmq_vhost.url()},
        'oslo_messaging_rabbit': {'amqp_durable_queues': 'true'}}
    server = uwsgi_server.UwsgiServer(str(tmp_path), None, sections=sections,
                                      overrides={'processes': '1'})
    try:
        server.start()
        container = 'uwsgi-' + uuid.uuid4().hex
        assert requests.post(server.url('/v1/' + container),
                             data='{"a": 1}', headers={'X-User-Id': 'u'},
                             timeout=30).status_code == 204
        event = collector.wait_for(
            lambda message: message['payload'].get('container')
            == container, timeout=20)
        assert event is not None, server.log()[-3000:]
        assert event['event_type'] == 'cloudprefs.container.create'
    finally:
        server.stop()
        collector.stop()


@pytest.fixture
def postgresql_node(tmp_path):
    """The shipped uwsgi.ini as it is (four processes) on PostgreSQL."""
    url = sqlservers.create_database('postgresql')
    server = None
    try:
        db_sync(url, str(tmp_path))
        server = uwsgi_server.UwsgiServer(
            str(tmp_path), url, overrides={},
            sections={'DEFAULT': {'debug': 'false'}})
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        sqlservers.drop_database('postgresql', url)


class Poll:
    """One device long-polling its own feed."""

    def __init__(self, server):
        self.server = server
        self.headers = {'X-User-Id': 'device-' + uuid.uuid4().hex}
        self.response = None
        self.seconds = None

    def run(self):
        started = time.monotonic()
        self.response = requests.get(
            self.server.url('/v1'), headers=self.headers,
            params={'since': '0', 'wait': str(POLL_WAIT)},
            timeout=POLL_WAIT + 30)
        self.seconds = time.monotonic() - started
        return self

    @property
    def refused(self):
        return 'Retry-After' in self.response.headers


def _held_and_served(server, polls, pool):
    """Start the polls; while they are held, another user's reads; the
    futures of the polls and the answers of the reads."""
    futures = [pool.submit(poll.run) for poll in polls]
    time.sleep(2)
    other = {'X-User-Id': 'other-' + uuid.uuid4().hex}
    assert requests.post(server.url('/v1/settings'), data='{"a": 1}',
                         headers=other, timeout=10).status_code == 204
    reads = [requests.get(server.url('/v1/settings'), headers=other,
                          timeout=5) for _ in range(50)]
    return futures, reads


def test_held_polls_never_lock_a_node_out(postgresql_node):
    """200 devices long-poll one node: every other request is served, every
    poll is answered (held, or refused at once with Retry-After), a write
    wakes its device's poll, and SIGTERM answers the held ones at once."""
    server = postgresql_node
    polls = [Poll(server) for _ in range(DEVICES)]
    with concurrent.futures.ThreadPoolExecutor(DEVICES) as pool:
        futures, reads = _held_and_served(server, polls, pool)
        assert [read.status_code for read in reads] == [200] * len(reads)

        # Polls the node would not hold are answered at once, telling
        # their device when to ask again.
        answered = [poll for poll in polls if poll.response is not None]
        assert answered and all(poll.refused for poll in answered)
        for poll in answered:
            assert poll.response.status_code == 200
            assert 1 <= int(poll.response.headers['Retry-After']) \
                <= POLL_WAIT
            assert poll.response.json()['changes'] == []
        held = [poll for poll in polls if poll.response is None]
        assert held, 'no poll was held'

        # A write wakes that device's held poll, with the change.
        woken = held[0]
        requests.post(server.url('/v1/wake'), data='{"b": 2}',
                      headers=woken.headers, timeout=10).raise_for_status()
        futures[polls.index(woken)].result(timeout=POLL_WAIT)
        assert woken.response.json()['changes'][0]['container'] == 'wake'
        assert woken.seconds < POLL_WAIT

        # Stopping the node answers the others at once.
        server.process.send_signal(signal.SIGTERM)
        concurrent.futures.wait(futures, timeout=POLL_WAIT + 30)
        for poll in held[1:]:
            assert poll.response.status_code == 200
            assert poll.seconds < POLL_WAIT - 3, poll.seconds
        server.process.wait(timeout=30)


def test_a_reload_answers_held_polls_and_serves_on(tmp_path):
    server = uwsgi_server.UwsgiServer(str(tmp_path), None,
                                      overrides={'processes': '2'})
    try:
        server.start()
        polls = [Poll(server) for _ in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(poll.run) for poll in polls]
            time.sleep(2)
            assert not any(future.done() for future in futures)
            server.process.send_signal(signal.SIGHUP)
            for future in futures:
                poll = future.result(timeout=POLL_WAIT + 30)
                assert poll.response.status_code == 200
                assert poll.seconds < POLL_WAIT - 3, poll.seconds
        # The reloaded workers serve on.
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(server.url('/v1'), timeout=5,
                                        headers={'X-User-Id': 'after'})
                if response.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.2)
    finally:
        server.stop()


def test_one_user_cannot_take_every_place(tmp_path):
    """[changes] max_waiting_per_user: one user's polls past it are
    answered at once with Retry-After; another user is still held."""
    server = uwsgi_server.UwsgiServer(
        str(tmp_path), None, overrides={'processes': '1'},
        sections={'changes': {'max_waiting_per_user': '3'}})
    try:
        server.start()
        greedy = [Poll(server) for _ in range(6)]
        for poll in greedy:
            poll.headers = {'X-User-Id': 'greedy'}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(poll.run) for poll in greedy]
            time.sleep(2)
            refused = [poll for poll in greedy if poll.response is not None]
            assert len(refused) == 3
            assert all(poll.refused for poll in refused)
            modest = pool.submit(Poll(server).run)
            time.sleep(1)
            assert not modest.done()
            # Ends the held ones.
            server.process.send_signal(signal.SIGTERM)
            concurrent.futures.wait(futures + [modest], timeout=60)
    finally:
        server.stop()
