"""No header or query value can make cloudprefs-api answer 5xx.

Schemathesis (test_fuzz_openapi.py) fuzzes what the OpenAPI document
describes; this generates what it does not reach: any bytes in the
conditional and identity headers and in the query string, sent raw to a
real process. Every answer must be below 500 (but the 501 that refuses a
transfer coding other than chunked), and an error must carry the JSON
error body. CLOUDPREFS_FUZZ_EXAMPLES sizes it (default 20: 200
requests).
"""

import json
import os
import socket
import urllib.parse
import uuid

import hypothesis
from hypothesis import strategies
import pytest

from tests.support import api_server
from tests.support import network

EXAMPLES = int(os.environ.get('CLOUDPREFS_FUZZ_EXAMPLES', '20')) * 10

HEADERS = [b'If-Match', b'If-None-Match', b'If-Modified-Since',
           b'Content-Type', b'Content-Length', b'Transfer-Encoding',
           b'X-Roles', b'OpenStack-System-Scope', b'Origin',
           b'X-Openstack-Request-Id', b'Expect', b'X-Forwarded-Proto',
           b'OpenStack-API-Version', b'X-Delete-At', b'X-Delete-After',
           b'X-Remove-Delete-At']
PATHS = ['/v1', '/v1/c', '/v1/c/k', '/v1/c/a/b', '/v1/missing/k', '/']
METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'PUT']
QUERY_NAMES = ['limit', 'marker', 'prefix', 'user_id', 'detail', 'x']

# Header values: any byte but CR and LF (which would end the header and
# make it another request altogether), often built from the pieces that
# caused 500s before (superscript digits, long digit runs, odd dates).
_PIECES = [b'"', b'W/', b',', b'*', b'\xb2', b'\xb3', b'\xb9', b'1' * 4400,
           b'0', b'-', b'+', b' ', b'\t', b'GMT', b'99999999999',
           b'Sun, 06 Nov 1994 08:49:37 GMT', b'chunked', b'\x00', b'\xff',
           b'preferences ', b'1.3', b'latest', b'253402300799',
           b'application/json-patch+json']
header_values = strategies.one_of(
    strategies.binary(max_size=60).map(
        lambda value: value.replace(b'\r', b'').replace(b'\n', b'')),
    strategies.lists(strategies.sampled_from(_PIECES), max_size=6).map(
        b''.join))
query_values = strategies.one_of(
    strategies.binary(max_size=40),
    strategies.sampled_from([b'\xc2\xb2', b'9' * 5000, b'', b'%', b'1e3',
                             b'\xff', b'0', b'-1', b'9' * 19]))


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    api = api_server.ApiServer(str(tmp_path_factory.mktemp('fuzz')), None,
                               sections={'DEFAULT': {'debug': 'false'}})
    api.start()
    yield api
    api.stop()


def send(port, request):
    """The server's whole answer; it may close before reading all of a
    request it refuses."""
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return network.read_until_closed(sock)


@hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(
    method=strategies.sampled_from(METHODS),
    path=strategies.sampled_from(PATHS),
    query=strategies.lists(strategies.tuples(
        strategies.sampled_from(QUERY_NAMES), query_values), max_size=3),
    headers=strategies.lists(strategies.tuples(
        strategies.sampled_from(HEADERS), header_values), max_size=4),
    body=strategies.sampled_from([b'', b'{"k":1}', b'1', b'{']))
def test_no_header_or_query_value_causes_a_server_error(
        server, method, path, query, headers, body):
    target = path
    if query:
        target += '?' + '&'.join(
            '%s=%s' % (name, urllib.parse.quote_from_bytes(value, safe=''))
            for name, value in query)
    head = [b'%s %s HTTP/1.1' % (method.encode(), target.encode()),
            b'Host: x', b'Connection: close',
            b'X-User-Id: fuzz-' + uuid.uuid4().hex.encode()]
    names = {name.lower() for name, _value in headers}
    head.extend(b'%s: %s' % (name, value) for name, value in headers)
    if b'content-length' not in names and b'transfer-encoding' not in names:
        head.append(b'Content-Length: %d' % len(body))
    answer = send(server.port, b'\r\n'.join(head) + b'\r\n\r\n' + body)
    status_line, _, rest = answer.partition(b'\r\n')
    assert status_line.startswith(b'HTTP/1.'), answer[:200]
    status = int(status_line.split()[1])
    head_bytes, _, payload = rest.partition(b'\r\n\r\n')
    error = None
    if status >= 400 and method != 'HEAD':
        error = json.loads(payload)['errors'][0]
        assert error['status'] == status and error['code'], payload
    if status == 501:
        assert b'transfer-encoding' in names, head
        assert error is None or error['code'] == 'cloudprefs.not_implemented'
        assert method != 'HEAD' or not payload
    else:
        assert status < 500, answer[:500]
