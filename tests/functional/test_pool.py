"""The SQL connection pool under load: cloudprefs-api with default options
opens no connection per request, and a tiny pool serves everyone, slower.
"""

import collections
import json
import threading
import time

import pytest
import requests

from tests.support import api_server
from tests.support import sqlservers

USERS = 50


def drive(api, clients, seconds, requests_of):
    """``clients`` threads, each on a kept-alive connection, sending
    ``requests_of(number)`` (a list of (method, path, body)) round and
    round for ``seconds``; the count of each status answered."""
    statuses = collections.Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number):
        session = requests.Session()
        headers = {'X-User-Id': 'pool-user-%d' % (number % USERS)}
        seen = collections.Counter()
        while time.monotonic() < deadline:
            for method, path, body in requests_of(number):
                response = session.request(method, api.url(path), data=body,
                                           headers=headers, timeout=60)
                seen[response.status_code] += 1
        with lock:
            statuses.update(seen)

    threads = [threading.Thread(target=client, args=(number,))
               for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def reads_and_writes(number):
    return [('GET', '/v1/c/k', None),
            ('POST', '/v1/c/k', json.dumps({'n': number})),
            ('GET', '/v1', None),
            ('GET', '/healthcheck', None)]


def seed(api):
    for number in range(USERS):
        requests.post(api.url('/v1/c/k'), data='0', timeout=30,
                      headers={'X-User-Id': 'pool-user-%d' % number}
                      ).raise_for_status()


@pytest.fixture(params=['postgresql', 'mysql'])
def server_database(request, connection_for):
    return request.param, connection_for(request.param)


def test_default_pool_opens_no_connection_per_request(server_database,
                                                      tmp_path):
    dialect, url = server_database
    api = api_server.ApiServer(str(tmp_path), url).start()
    counter = sqlservers.ConnectionCounter(dialect, url)
    try:
        seed(api)
        before = counter.accepted()
        statuses = drive(api, 32, 3, reads_and_writes)
        statuses += drive(api, 256, 3, reads_and_writes)
        opened = counter.accepted() - before
    finally:
        counter.close()
        api.stop()
    answered = sum(statuses.values())
    assert set(statuses) <= {200, 204}, statuses
    # A connection per request would be thousands; the default pool
    # (32) opens at most that many, once.
    assert answered > 1000
    assert opened <= 32, (opened, answered)


def test_a_tiny_pool_keeps_every_request_waiting_not_failing(
        connection_for, tmp_path):
    url = connection_for('postgresql')
    api = api_server.ApiServer(
        str(tmp_path), url,
        sections={'database': {'max_pool_size': '2',
                               'max_overflow': '0'}}).start()
    try:
        seed(api)
        statuses = drive(api, 64, 10, reads_and_writes)
    finally:
        api.stop()
    assert set(statuses) <= {200, 204}, statuses
    assert sum(statuses.values()) > 500
