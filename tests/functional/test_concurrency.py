"""No lost update: many concurrent writers, through two cloudprefs-api
processes sharing one database."""

import concurrent.futures
import json
import threading
import time
import uuid

import pytest
import requests

from tests.support import api_server

WRITERS = 16
WRITES_PER_KIND = 120


@pytest.fixture(scope='module')
def two_apis(connection, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('two-apis'))
    servers = [api_server.ApiServer(workdir, connection, name='api%d' % i)
               for i in range(2)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def test_concurrent_writers_lose_nothing(two_apis):
    user = 'user-' + uuid.uuid4().hex
    headers = {'X-User-Id': user}
    sessions = {}

    def send(job):
        kind, index = job
        server = two_apis[index % 2]
        # One keep-alive session per worker thread and server.
        key = (server.port, threading.get_ident())
        session = sessions.setdefault(key, requests.Session())
        if kind == 'key':
            response = session.post(server.url('/v1/shared/k%d' % index),
                                    data=json.dumps(index), headers=headers,
                                    timeout=60)
        elif kind == 'merge':
            response = session.post(server.url('/v1/shared'),
                                    data=json.dumps({'m%d' % index: index}),
                                    headers=headers, timeout=60)
        else:
            response = session.post(
                server.url('/v1/created/c%d' % index), data='true',
                headers=headers, timeout=60)
        return response.status_code

    jobs = [(kind, index) for index in range(WRITES_PER_KIND)
            for kind in ('key', 'merge', 'create')]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(pool.map(send, jobs))
    elapsed = time.monotonic() - started
    print('%d concurrent writes through 2 processes in %.2f s (%.0f/s)'
          % (len(jobs), elapsed, len(jobs) / elapsed))
    assert statuses == [204] * len(jobs)

    shared = requests.get(two_apis[0].url('/v1/shared'), headers=headers,
                          timeout=30).json()
    expected = {'k%d' % i: i for i in range(WRITES_PER_KIND)}
    expected.update({'m%d' % i: i for i in range(WRITES_PER_KIND)})
    assert shared == expected
    created = requests.get(two_apis[1].url('/v1/created'), headers=headers,
                           timeout=30).json()
    assert created == {'c%d' % i: True for i in range(WRITES_PER_KIND)}
