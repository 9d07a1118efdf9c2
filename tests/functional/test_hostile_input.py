"""Hostile and careless input, sent as raw bytes to a real cloudprefs-api:
every answer is a 4xx with the JSON error body, or what a valid but
unmet condition gives (412, 304), never a 500; nothing is written."""

import json
import socket
import time
import uuid

import pytest
import requests

from tests.support import api_server
from tests.support import network

SERVERS = (api_server.CLOUDPREFS_API, api_server.UWSGI)


@pytest.fixture(scope='module')
def server(server_kind, tmp_path_factory):
    api = api_server.server_of_kind(
        server_kind, str(tmp_path_factory.mktemp('hostile')), None)
    api.start()
    yield api
    api.stop()


class Raw:
    """HTTP/1.1 over a socket, bytes exactly as written."""

    def __init__(self, server):
        self.port = server.port
        self.user = 'user-' + uuid.uuid4().hex

    def send(self, method, target, headers=b'', body=b'', user=True):
        head = b'%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' % (
            method.encode(), target.encode())
        if user:
            head += b'X-User-Id: %s\r\n' % self.user.encode()
        return self.exchange(head + headers + b'\r\n' + body)

    def exchange(self, data, read=True):
        if not read:
            with socket.create_connection(('127.0.0.1', self.port),
                                          timeout=30) as sock:
                sock.sendall(data)
            return None
        answer = network.raw_exchange(self.port, data)
        head, _, body = answer.partition(b'\r\n\r\n')
        return int(head.split()[1]), head.decode('latin-1'), body


@pytest.fixture
def raw(server):
    client = Raw(server)
    status, _head, _body = client.send(
        'POST', '/v1/c', b'Content-Length: 7\r\n', b'{"k":1}')
    assert status == 204
    return client


def error_code(body):
    return json.loads(body)['errors'][0]['code']


@pytest.mark.parametrize('query', [
    'limit=%C2%B2', 'limit=%C2%B9', 'limit=' + '9' * 5000, 'limit=1e3',
    'limit=%EF%BC%91', 'limit=+1', 'limit=0x10'])
def test_limits_that_are_not_ascii_digits_are_refused(raw, query):
    status, _head, body = raw.send('GET', '/v1?' + query)
    assert status == 400, body
    assert error_code(body) == 'cloudprefs.bad_request'


def test_a_long_limit_within_18_digits_is_clamped(raw):
    status, _head, body = raw.send('GET', '/v1?limit=' + '9' * 18)
    assert (status, json.loads(body)) == (200, ['c'])


@pytest.mark.parametrize('value', [
    b'\xb2', b'\xb3', b'\xb9', b'"\xb2', b'1', b'W/', b'"1" "2"', b'"1",x',
    b'\x01', b'""x', b','])
def test_malformed_entity_tags_are_refused(raw, value):
    for method, path, name, body in (
            ('POST', '/v1/c/k', b'If-Match', b'2'),
            ('GET', '/v1/c', b'If-None-Match', b''),
            ('GET', '/v1/c/k', b'If-None-Match', b'')):
        status, _head, answer = raw.send(
            method, path, b'%s: %s\r\nContent-Length: %d\r\n' % (
                name, value, len(body)), body)
        assert status == 400, (method, value, answer)
        assert error_code(answer) == 'cloudprefs.bad_request'


@pytest.mark.parametrize('value', [b'"\xb2"', b'"\xb3\xb9"', b'"W/1"',
                                   b'"' + b'7' * 5000 + b'"',
                                   b'W/"1", "' + b'1' * 4301 + b'"'])
def test_well_formed_tags_that_name_no_revision_match_nothing(raw, value):
    status, head, answer = raw.send(
        'POST', '/v1/c/k', b'If-Match: %s\r\nContent-Length: 1\r\n' % value,
        b'2')
    assert status == 412, answer
    assert error_code(answer) == 'cloudprefs.precondition_failed'
    status, _head, answer = raw.send(
        'GET', '/v1/c', b'If-None-Match: %s\r\n' % value)
    assert (status, json.loads(answer)) == (200, {'k': 1})


@pytest.mark.parametrize('value', [
    b'Sun, 06 Nov 99999999999 08:49:37 GMT', b'not a date',
    b'Sun, 06 Nov 1994 08:49:37', b'\xb2', b'Sun, 32 Nov 1994 08:49:37 GMT',
    b'Sun, 06 Nov 1994 25:49:37 GMT', b'9' * 5000])
def test_malformed_if_modified_since_is_refused(raw, value):
    for method in ('GET', 'HEAD'):
        status, _head, answer = raw.send(
            method, '/v1/c', b'If-Modified-Since: %s\r\n' % value)
        assert status == 400, (method, value, answer)
        if method == 'GET':
            assert error_code(answer) == 'cloudprefs.bad_request'


def test_malformed_chunked_bodies_are_refused(raw, server_kind):
    # uwsgi passes on no chunked body: 411 for every one, still refused.
    expected = ((411, 'cloudprefs.length_required')
                if server_kind == api_server.UWSGI
                else (400, 'cloudprefs.bad_request'))
    for chunks in (b'zz\r\n{"k":2}\r\n0\r\n\r\n',
                   b'7\r\n{"k":2}\r\n' + b'1' * 40 + b'\r\n\r\n',
                   b'-1\r\n'):
        status, _head, answer = raw.send(
            'POST', '/v1/c', b'Transfer-Encoding: chunked\r\n', chunks)
        assert (status, error_code(answer)) == expected, (chunks, answer)
    assert raw.send('GET', '/v1/c')[2] == b'{"k":1}'


def test_a_client_gone_mid_body_writes_nothing(raw, server):
    for framing, sent in ((b'Content-Length: 100\r\n', b'{"k":'),
                          (b'Transfer-Encoding: chunked\r\n',
                           b'64\r\n{"k":')):
        raw.exchange(b'POST /v1/c HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n'
                     b'%s\r\n%s' % (raw.user.encode(), framing, sent),
                     read=False)
    deadline = time.monotonic() + 10
    while 'went away' not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert raw.send('GET', '/v1/c')[2] == b'{"k":1}'
    log = server.log()
    assert 'The client went away' in log
    assert 'Traceback' not in log


def test_one_user_cannot_fill_the_service_by_default(server):
    """Without [quota] settings one user gets 1,000 containers (it took
    one client 16 s to create 20,000 before there was a default)."""
    session = requests.Session()
    headers = {'X-User-Id': 'user-' + uuid.uuid4().hex}
    for name in range(1000):
        assert session.post(server.url('/v1/c%04d' % name), headers=headers,
                            timeout=30).status_code == 204
    response = session.post(server.url('/v1/one-too-many'), headers=headers,
                            timeout=30)
    assert response.status_code == 403
    assert error_code(response.content) == 'cloudprefs.quota_exceeded'
    usage = session.head(server.url('/v1'), headers=headers, timeout=30)
    assert usage.headers['X-Container-Count'] == '1000'
    assert usage.headers['X-Container-Quota'] == '1000'
    # Existing containers can still change.
    assert session.post(server.url('/v1/c0000/k'), data='1',
                        headers=headers, timeout=30).status_code == 204


def test_control_characters_in_a_request_are_escaped_in_the_log(
        raw, server):
    """The access log carries the request line as the client sent it: a
    terminal escape sequence or a bell in it is written escaped."""
    status, _head, _body = raw.send('GET', '/v1/\x1b[2Jcleared\x07here')
    assert status == 404
    deadline = time.monotonic() + 10
    while 'cleared' not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log()
    assert '/v1/\\x1b[2Jcleared\\x07here' in log
    assert '\x1b' not in log and '\x07' not in log
