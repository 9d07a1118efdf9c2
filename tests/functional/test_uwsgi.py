"""The API under uwsgi, from cloudprefs.wsgi.api:application."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from tests.support import config
from tests.support import network
from tests.support import rabbitmq


SAMPLE_INI = os.path.join('etc', 'cloudprefs', 'uwsgi.ini')


@pytest.fixture
def uwsgi_api(tmp_path):
    """uwsgi run from the shipped sample ini, with only its socket and
    configuration file changed."""
    with run_uwsgi(tmp_path, {}) as url:
        yield url


@contextlib.contextmanager
def run_uwsgi(tmp_path, sections):
    port = network.free_port()
    options = {'DEFAULT': {'auth_strategy': 'noauth',
                           'state_path': str(tmp_path / 'state')}}
    options.update(sections)
    conf_path = config.write_config_file(str(tmp_path / 'cloudprefs.conf'),
                                         options)
    with open(SAMPLE_INI) as sample:
        ini = sample.read()
    ini = re.sub(r'(?m)^http11-socket = .*$',
                 'http11-socket = 127.0.0.1:%d' % port, ini)
    ini = re.sub(r'(?m)^env = CLOUDPREFS_CONFIG_FILE=.*$',
                 'env = CLOUDPREFS_CONFIG_FILE=%s' % conf_path, ini)
    ini = re.sub(r'(?m)^processes = .*$', 'processes = 2', ini)
    ini_path = tmp_path / 'uwsgi.ini'
    ini_path.write_text(ini)
    uwsgi = os.path.join(os.path.dirname(sys.executable), 'uwsgi')
    log = open(tmp_path / 'uwsgi.log', 'wb')
    process = subprocess.Popen(
        [uwsgi, '--ini', str(ini_path), '--home', sys.prefix],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        network.wait_for_port(port, process=process)
        yield 'http://127.0.0.1:%d' % port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_notifications_under_uwsgi(tmp_path, rabbitmq_vhost):
    """The relay of a uwsgi worker is started with Python, not with the
    uwsgi binary that sys.executable names there."""
    collector = rabbitmq.Collector(rabbitmq_vhost.url())
    sections = {'oslo_messaging_notifications': {
        'driver': 'messagingv2', 'transport_url': rabbitmq_vhost.url()},
        'oslo_messaging_rabbit': {'amqp_durable_queues': 'true'}}
    try:
        with run_uwsgi(tmp_path, sections) as url:
            container = 'uwsgi-' + uuid.uuid4().hex
            assert requests.post(url + '/v1/' + container, data='{"a": 1}',
                                 headers={'X-User-Id': 'u'},
                                 timeout=30).status_code == 204
            event = collector.wait_for(
                lambda message: message['payload'].get('container')
                == container, timeout=20)
        assert event is not None, (tmp_path / 'uwsgi.log').read_text()[-3000:]
        assert event['event_type'] == 'cloudprefs.container.create'
    finally:
        collector.stop()


def test_seed_examples_under_uwsgi(uwsgi_api):
    headers = {'X-User-Id': 'user-' + uuid.uuid4().hex}
    url = uwsgi_api + '/v1'
    assert requests.post(url + '/defaults', headers=headers,
                         data='{"build_config": ["monitoring", "backup"]}',
                         timeout=30).status_code == 204
    assert requests.post(url + '/defaults/passwords/root', headers=headers,
                         data='"secretpassword"', timeout=30
                         ).status_code == 204
    assert requests.get(url, headers=headers, timeout=30).json() == [
        'defaults']
    assert requests.get(url + '/defaults', headers=headers,
                        timeout=30).json() == {
        'build_config': ['monitoring', 'backup'],
        'passwords': {'root': 'secretpassword'}}
    # uwsgi gives REQUEST_URI, so %2F stays inside a name here too.
    assert requests.post(url + '/a%2Fb/x%2Fy', headers=headers, data='1',
                         timeout=30).status_code == 204
    assert requests.get(url + '/a%2Fb', headers=headers,
                        timeout=30).json() == {'x/y': 1}
    response = requests.get(url + '/missing', headers=headers, timeout=30)
    assert response.status_code == 404
    assert response.json()['errors'][0]['code'] == 'cloudprefs.not_found'
    assert requests.get(uwsgi_api + '/healthcheck',
                        timeout=30).status_code == 200


def test_a_chunked_body_is_refused_not_lost(uwsgi_api):
    """uwsgi hands a WSGI application no byte of a chunked request body;
    taken for an empty body, a merge would answer 204 and store {}."""
    port = int(uwsgi_api.rsplit(':', 1)[1])
    user = 'user-' + uuid.uuid4().hex
    answer = network.raw_exchange(
        port, b'POST /v1/c HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n'
        b'Connection: close\r\nTransfer-Encoding: chunked\r\n'
        b'\r\n7\r\n{"k":2}\r\n0\r\n\r\n' % user.encode())
    assert answer.startswith(b'HTTP/1.1 411'), answer[:200]
    error = json.loads(answer.partition(b'\r\n\r\n')[2])['errors'][0]
    assert error['code'] == 'cloudprefs.length_required'
    assert requests.get(uwsgi_api + '/v1', headers={'X-User-Id': user},
                        timeout=30).json() == []
    # With Content-Length it works as anywhere.
    assert requests.post(uwsgi_api + '/v1/c', data='{"k":2}', timeout=30,
                         headers={'X-User-Id': user}).status_code == 204
    assert requests.get(uwsgi_api + '/v1/c', headers={'X-User-Id': user},
                        timeout=30).json() == {'k': 2}
