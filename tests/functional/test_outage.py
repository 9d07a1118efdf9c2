"""The database going away and coming back, under a running API.

The outage is made by a TCP proxy the test owns in front of the database
server, so it works the same on every backend, against the MongoDB test
server or a real mongod, and never stops the machine's shared PostgreSQL
or MariaDB.
"""

import time
import uuid

import pytest
import requests

from tests.support import api_server
from tests.support import mongodb
from tests.support import network
from tests.support import sqlservers

DATABASE_TIMEOUT = 2.0
OPERATION_TIMEOUT = 3.0
# What a request may take past its operation's deadline: no attempt
# waits past it (each is cut to what is left), so only the moment it takes
# to answer. Before attempts were cut, MongoDB's took 4.0 s of 3.
DEADLINE_MARGIN = 0.6


@pytest.fixture(params=['mongodb', 'postgresql', 'mysql'])
def proxied_api(request, tmp_path):
    backend = request.param
    if backend == 'mongodb':
        base = request.getfixturevalue('mongodb_base_url')
        proxy = network.TCPProxy(*mongodb.first_host_port(base))
        url = mongodb.with_database(
            mongodb.with_host(base, '127.0.0.1', proxy.port),
            mongodb.unique_database())
    else:
        database = request.getfixturevalue('connection_for')(backend)
        proxy = network.TCPProxy(*sqlservers.server_address(backend))
        url = sqlservers.with_address(database, '127.0.0.1', proxy.port)
    server = api_server.ApiServer(
        str(tmp_path), url,
        sections={'database': {'timeout': str(DATABASE_TIMEOUT),
                               'operation_timeout': str(OPERATION_TIMEOUT)},
                  'api': {'retry_after': '7'}})
    server.start()
    yield server, proxy
    server.stop()
    proxy.close()


def test_database_outage_gives_503_then_recovers(proxied_api):
    server, proxy = proxied_api
    headers = {'X-User-Id': 'user-' + uuid.uuid4().hex}
    assert requests.post(server.url('/v1/c/k'), data='1', headers=headers,
                         timeout=30).status_code == 204

    proxy.cut()
    for method, path, body in (('GET', '/v1', None), ('GET', '/v1/c', None),
                               ('POST', '/v1/c/k', '2'),
                               ('DELETE', '/v1/c', None)):
        started = time.monotonic()
        response = requests.request(method, server.url(path), data=body,
                                    headers=headers, timeout=30)
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.headers['Retry-After'] == '7'
        error = response.json()['errors'][0]
        assert error['code'] == 'cloudprefs.backend_unavailable'
        assert '127.0.0.1' not in response.text
        # Bounded by the operation's deadline: no attempt waits past it.
        print(method, path, '%.2f s' % elapsed)
        assert elapsed < OPERATION_TIMEOUT + DEADLINE_MARGIN, elapsed
    health = requests.get(server.url('/healthcheck'), timeout=30)
    assert health.status_code == 503

    proxy.restore()
    deadline = time.monotonic() + 30
    while True:
        response = requests.get(server.url('/v1/c'), headers=headers,
                                timeout=30)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 200
    assert response.json() == {'k': 1}
    assert requests.post(server.url('/v1/c/k'), data='3', headers=headers,
                         timeout=30).status_code == 204
    assert requests.get(server.url('/healthcheck'),
                        timeout=30).status_code == 200
    assert server.process.poll() is None
