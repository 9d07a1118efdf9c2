"""cloudprefs-api's HTTP layer against hostile clients: strict framing
(no request smuggling), a deadline for request heads, an idle timeout,
and no lock-out by idle or slow connections."""

import json
import socket
import threading
import time
import uuid

import pytest
import requests

from tests.support import api_server
from tests.support import network

HEADER_TIMEOUT = 1.0
IDLE_TIMEOUT = 2
CONNECTIONS = 20


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    api = api_server.ApiServer(
        str(tmp_path_factory.mktemp('protocol')), None, sections={
            'DEFAULT': {'client_header_timeout': str(HEADER_TIMEOUT),
                        'client_socket_timeout': str(IDLE_TIMEOUT),
                        'green_pool_size': str(CONNECTIONS)}})
    api.start()
    yield api
    api.stop()


def connect(server):
    return socket.create_connection(('127.0.0.1', server.port), timeout=30)


def read_all(sock):
    return network.read_until_closed(sock, timeout_ends=True)


def exchange(server, data):
    """Send raw bytes; everything the server answers until it closes."""
    return network.raw_exchange(server.port, data, timeout_ends=True)


def statuses(answer):
    return [int(line.split()[1]) for line in answer.split(b'\r\n')
            if line.startswith(b'HTTP/1.1 ')]


def body_of(answer):
    return json.loads(answer.partition(b'\r\n\r\n')[2])


def post(user, framing, body):
    return (b'POST /v1/c HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n%s\r\n%s'
            % (user.encode(), framing, body))


def stored(server, user):
    return requests.get(server.url('/v1/c'), headers={'X-User-Id': user},
                        timeout=30)


# Framing ---------------------------------------------------------------------

@pytest.mark.parametrize('framing, status', [
    (b'Content-Length: 7\r\nContent-Length: 8\r\n', 400),
    (b'Content-Length: 7, 8\r\n', 400),
    (b'Content-Length: +7\r\n', 400),
    (b'Content-Length: 0x7\r\n', 400),
    (b'Content-Length: 7_0\r\n', 400),
    (b'Content-Length: -7\r\n', 400),
    (b'Transfer-Encoding: xchunked\r\n', 501),
    (b'Transfer-Encoding: gzip\r\n', 501),
    (b'Transfer-Encoding: gzip, chunked\r\n', 501),
    (b'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', 501),
    (b'Transfer-Encoding: chunked\r\nContent-Length: 7\r\n', 400),
])
def test_ambiguous_framing_is_refused_and_the_connection_closed(
        server, framing, status):
    user = 'user-' + uuid.uuid4().hex
    smuggled = (b'POST /v1/smuggled HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n'
                b'Content-Length: 2\r\n\r\n{}' % user.encode())
    answer = exchange(server, post(user, framing, b'{"k":1}' + smuggled))
    assert statuses(answer) == [status], answer
    error = body_of(answer)['errors'][0]
    assert error['code'] == ('cloudprefs.bad_request' if status == 400
                             else 'cloudprefs.not_implemented')
    assert error['request_id'].startswith('req-')
    assert b'Connection: close' in answer
    # Neither the request nor what followed it was served.
    assert requests.get(server.url('/v1'), headers={'X-User-Id': user},
                        timeout=30).json() == []


def test_plain_framing_works(server):
    user = 'user-' + uuid.uuid4().hex
    for framing, body in (
            (b'Content-Length: 7\r\nContent-Length: 7\r\n', b'{"k":1}'),
            (b'Transfer-Encoding: Chunked\r\n', b'7\r\n{"k":2}\r\n0\r\n\r\n'),
            (b'Transfer-Encoding: chunked\r\n',
             b'3;name=value\r\n{"k\r\n4\r\n":3}\r\n0\r\nTrailer: x\r\n\r\n')):
        answer = exchange(server, post(user, framing + b'Connection: close'
                                       b'\r\n', body))
        assert statuses(answer) == [204], answer
    assert stored(server, user).json() == {'k': 3}


@pytest.mark.parametrize('chunks', [
    b'0x7\r\n{"k":2}\r\n0\r\n\r\n',         # not hex digits only
    b'+7\r\n{"k":2}\r\n0\r\n\r\n',
    b'7\r\n{"k":2}XX\r\n0\r\n\r\n',         # junk after the chunk
    b'7\n{"k":2}\n0\n\n',                   # bare LF
    b'7 7\r\n{"k":2}\r\n0\r\n\r\n',
    b'7\r\n{"k":2}\r\n0\r\n' + b'T: x\r\n' * 40 + b'\r\n',
])
def test_loose_chunks_are_refused(server, chunks):
    user = 'user-' + uuid.uuid4().hex
    answer = exchange(server, post(
        user, b'Transfer-Encoding: chunked\r\nConnection: close\r\n', chunks))
    assert statuses(answer) == [400], answer
    assert body_of(answer)['errors'][0]['code'] == 'cloudprefs.bad_request'
    assert stored(server, user).status_code == 404


@pytest.mark.parametrize('request_bytes, status, code', [
    (b'GET /v1/' + b'x' * 9000 + b' HTTP/1.1\r\nHost: x\r\n\r\n', 414,
     'cloudprefs.uri_too_long'),
    (b'GET /v1 HTTP/1.1\r\nX-Big: ' + b'x' * 9000 + b'\r\n\r\n', 431,
     'cloudprefs.headers_too_large'),
    (b'GET /v1 HTTP/1.1\r\n' + b'X-Many: 1\r\n' * 8000 + b'\r\n', 431,
     'cloudprefs.headers_too_large'),
    (b'GET /v1 HTTP/1.1\r\nContent-Length: ' + b'9' * 5000 + b'\r\n\r\n',
     400, 'cloudprefs.bad_request'),
    (b'GET /v1 HTTP/2.0\r\n\r\n', 505,
     'cloudprefs.http_version_not_supported'),
    (b'GET\r\n\r\n', 400, 'cloudprefs.bad_request'),
])
def test_unparsable_requests_get_the_json_error_format(server, request_bytes,
                                                       status, code):
    answer = exchange(server, request_bytes)
    assert statuses(answer) == [status], answer[:300]
    assert body_of(answer)['errors'][0]['code'] == code


# Slow and idle clients -----------------------------------------------------

def test_a_head_sent_too_slowly_is_cut_off(server):
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b'GET /v1 HTTP/1.1\r\nHost: x\r\n')
        try:
            for _ in range(20):
                sock.sendall(b'X')
                time.sleep(0.2)
        except OSError:
            pass
        assert read_all(sock) == b''
        assert time.monotonic() - started < HEADER_TIMEOUT + 1.5
    assert 'its request head took more than' in server.log()


def test_a_connection_that_sends_nothing_is_closed(server):
    with connect(server) as sock:
        started = time.monotonic()
        assert read_all(sock) == b''
        assert time.monotonic() - started < HEADER_TIMEOUT + 1.5


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout(
        server):
    user = 'user-' + uuid.uuid4().hex
    request = (b'GET /v1 HTTP/1.1\r\nHost: x\r\nX-User-Id: %s\r\n\r\n'
               % user.encode())
    with connect(server) as sock:
        sock.sendall(request)
        assert sock.recv(65536).startswith(b'HTTP/1.1 200')
        time.sleep(IDLE_TIMEOUT / 2)     # idle, but less than the timeout
        sock.sendall(request)
        assert sock.recv(65536).startswith(b'HTTP/1.1 200')
        started = time.monotonic()
        assert read_all(sock) == b''
        assert IDLE_TIMEOUT - 0.5 < time.monotonic() - started < \
            IDLE_TIMEOUT + 1.5


def test_idle_and_slow_connections_lock_nobody_out(server):
    """Twice the worker's connections held by one client, half idle and
    half sending their heads a byte at a time: other clients are served
    at once, the hostile connections are closed for them or by the head
    deadline."""
    hostile = []
    stop = threading.Event()

    def trickle(sock):
        sock.sendall(b'GET /v1 HTTP/1.1\r\n')
        while not stop.is_set():
            try:
                sock.sendall(b'X')
            except OSError:
                return
            time.sleep(0.1)

    for number in range(2 * CONNECTIONS):
        sock = connect(server)
        hostile.append(sock)
        if number % 2:
            threading.Thread(target=trickle, args=(sock,),
                             daemon=True).start()
    time.sleep(0.3)
    latencies = []
    try:
        for number in range(60):
            started = time.monotonic()
            response = requests.get(server.url('/v1'), timeout=30,
                                    headers={'X-User-Id': 'legit'})
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
    finally:
        stop.set()
    latencies.sort()
    assert latencies[int(len(latencies) * 0.99)] < 1.0, latencies[-5:]
    # Every hostile connection is gone within the head deadline.
    deadline = time.monotonic() + HEADER_TIMEOUT + 2
    for sock in hostile:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        assert read_all(sock) == b''
        sock.close()
    assert time.monotonic() < deadline + 0.5
