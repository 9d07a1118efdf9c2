"""Under cloudprefs-api's eventlet server, a database call that waits
must not stall the other requests of the process (eventlet's psycopg2
wait callback, installed by monkey_patch, for
PostgreSQL, cloudprefs.eventlet_server.psycopg_wait on top of it, pure-Python
PyMySQL for MariaDB)."""

import threading
import time
import uuid

import pytest
import requests
import sqlalchemy as sa


@pytest.fixture(scope='module', params=['postgresql', 'mysql'])
def backend(request):
    return request.param


def test_a_waiting_query_does_not_stall_other_requests(api, connection):
    slow_user = {'X-User-Id': 'slow-' + uuid.uuid4().hex}
    other_user = {'X-User-Id': 'other-' + uuid.uuid4().hex}
    assert requests.post(api.url('/v1/locked/k'), data='1',
                         headers=slow_user, timeout=10).status_code == 204
    assert requests.post(api.url('/v1/free/k'), data='1',
                         headers=other_user, timeout=10).status_code == 204

    # Hold a row lock on the slow user's container from outside the API:
    # the API's UPDATE of that row waits inside the database client.
    engine = sa.create_engine(connection, poolclass=sa.pool.NullPool)
    locker = engine.connect()
    transaction = locker.begin()
    locker.execute(
        sa.text('SELECT revision FROM containers WHERE user_id = :u '
                'FOR UPDATE'),
        {'u': slow_user['X-User-Id'].encode()}).all()

    outcome = {}

    def slow_write():
        response = requests.post(api.url('/v1/locked/k'), data='2',
                                 headers=slow_user, timeout=60)
        outcome['status'] = response.status_code
        outcome['finished'] = time.monotonic()

    writer = threading.Thread(target=slow_write)
    writer.start()
    time.sleep(0.5)     # the write is now waiting on the lock
    try:
        started = time.monotonic()
        for index in range(20):
            response = requests.get(api.url('/v1/free/k'),
                                    headers=other_user, timeout=10)
            assert response.status_code == 200
            assert requests.post(api.url('/v1/free/k'), data=str(index),
                                 headers=other_user,
                                 timeout=10).status_code == 204
        others_took = time.monotonic() - started
        # The other user's 40 requests all finished while the slow write
        # was still waiting: the process was not stalled.
        assert writer.is_alive()
        assert 'status' not in outcome
        print('40 requests beside a blocked query took %.3f s' % others_took)
    finally:
        released = time.monotonic()
        transaction.commit()
        locker.close()
        engine.dispose()
        writer.join(timeout=60)
    assert outcome['status'] == 204
    assert outcome['finished'] >= released
    assert requests.get(api.url('/v1/locked/k'), headers=slow_user,
                        timeout=10).json() == 2
