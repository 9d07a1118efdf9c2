"""The change feed, long-poll and watch, through real cloudprefs-api
processes (two workers each) on every backend, and through uwsgi (the
shipped uwsgi.ini, two processes each, without eventlet)."""

import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pymongo
import pytest
import requests
import sqlalchemy as sa

from tests.support import api_server
from tests.support import config

SERVERS = (api_server.CLOUDPREFS_API, api_server.UWSGI)

WRITERS = 8
WRITES_PER_WRITER = 200
CONTAINERS = 20


@pytest.fixture(scope='module')
def feed_api(connection, server_kind, tmp_path_factory):
    """cloudprefs-api with two workers (or uwsgi with two processes), and
    a second one on the same database: a write through one is seen by
    waiters of the other."""
    workdir = str(tmp_path_factory.mktemp('feed'))
    servers = [api_server.server_of_kind(
        server_kind, workdir, connection, name='feed%d' % index,
        sections={'DEFAULT': {'api_workers': '2'},
                  'changes': {'max_wait': '20'}}) for index in range(2)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def _user():
    return {'X-User-Id': 'feed-' + uuid.uuid4().hex}


def _changes(server, headers, since, **params):
    response = requests.get(server.url('/v1'), headers=headers,
                            params=dict(params, since=since), timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers['X-Cursor'] == response.json()['cursor']
    return response.json()


def test_writes_and_listings_carry_the_cursor(feed_api):
    server = feed_api[0]
    headers = _user()
    listing = requests.get(server.url('/v1'), headers=headers, timeout=30)
    assert listing.headers['X-Cursor'] == '0'
    created = requests.post(server.url('/v1/prefs'), headers=headers,
                            data='{"a": 1}', timeout=30)
    assert created.status_code == 204
    first = int(created.headers['X-Cursor'])
    assert first > 0
    # A write that changes nothing takes no position.
    same = requests.post(server.url('/v1/prefs'), headers=headers,
                         data='{"a": 1}', timeout=30)
    assert same.status_code == 204 and 'X-Cursor' not in same.headers
    changed = requests.post(server.url('/v1/prefs/b'), headers=headers,
                            data='2', timeout=30)
    assert int(changed.headers['X-Cursor']) > first
    listing = requests.get(server.url('/v1'), headers=headers, timeout=30)
    assert listing.json() == ['prefs']
    assert listing.headers['X-Cursor'] == changed.headers['X-Cursor']


def test_feed_lists_each_changed_container_once(feed_api):
    one, other = feed_api
    headers = _user()
    assert _changes(one, headers, 0) == {'changes': [], 'cursor': '0',
                                         'more': False}
    requests.post(one.url('/v1/a'), headers=headers, data='{}', timeout=30)
    requests.post(other.url('/v1/b/k'), headers=headers, data='1',
                  timeout=30)
    etag_a = requests.post(one.url('/v1/a/k'), headers=headers, data='2',
                           timeout=30).headers['ETag']
    requests.delete(other.url('/v1/b'), headers=headers, timeout=30)
    feed = _changes(one, headers, '')
    assert feed['changes'] == [
        {'container': 'a', 'revision': etag_a.strip('"'), 'deleted': False},
        {'container': 'b', 'revision': None, 'deleted': True}]
    assert feed['more'] is False
    # From the cursor on: only what changed after it.
    cursor = feed['cursor']
    assert _changes(other, headers, cursor)['changes'] == []
    deleted = requests.delete(one.url('/v1'), headers=headers, timeout=30)
    assert deleted.status_code == 204
    after = _changes(other, headers, cursor)
    assert after['changes'] == [
        {'container': 'a', 'revision': None, 'deleted': True}]
    assert after['cursor'] == deleted.headers['X-Cursor']
    # Made again: once, not deleted.
    requests.post(one.url('/v1/b'), headers=headers, data='{}', timeout=30)
    again = _changes(one, headers, after['cursor'])['changes']
    assert [(c['container'], c['deleted']) for c in again] == [('b', False)]


def test_feed_pages_with_limit(feed_api):
    server = feed_api[0]
    headers = _user()
    for index in range(5):
        requests.post(server.url('/v1/c%d' % index), headers=headers,
                      data='{}', timeout=30)
    names, cursor, pages = [], 0, []
    while True:
        page = _changes(server, headers, cursor, limit=2)
        names.extend(change['container'] for change in page['changes'])
        pages.append(page['more'])
        cursor = page['cursor']
        if not page['more']:
            break
    assert names == ['c0', 'c1', 'c2', 'c3', 'c4']
    assert pages == [True, True, False]


@pytest.mark.parametrize('since', ['x', '-1', '1.5', '9' * 19, '٣'])
def test_bad_cursor_is_a_400(feed_api, since):
    response = requests.get(feed_api[0].url('/v1'), headers=_user(),
                            params={'since': since}, timeout=30)
    assert response.status_code == 400
    assert response.json()['errors'][0]['code'] == 'cloudprefs.bad_request'


@pytest.mark.parametrize('wait', ['soon', '-1', '1e3', ''])
def test_bad_wait_is_a_400(feed_api, wait):
    response = requests.get(feed_api[0].url('/v1'), headers=_user(),
                            params={'since': '0', 'wait': wait}, timeout=30)
    assert response.status_code == 400
    assert response.json()['errors'][0]['code'] == 'cloudprefs.bad_request'


def test_a_cursor_the_feed_never_gave_is_gone(feed_api):
    server = feed_api[0]
    headers = _user()
    requests.post(server.url('/v1/c'), headers=headers, data='{}',
                  timeout=30)
    response = requests.get(server.url('/v1'), headers=headers,
                            params={'since': '1000'}, timeout=30)
    assert response.status_code == 410
    error = response.json()['errors'][0]
    assert error['code'] == 'cloudprefs.cursor_expired'
    assert error['request_id'].startswith('req-')


def test_long_poll_is_woken_by_a_write_through_another_process(feed_api):
    waiter, writer = feed_api
    headers = _user()
    cursor = _changes(waiter, headers, 0)['cursor']
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        held = pool.submit(_changes, waiter, headers, cursor, wait=15)
        time.sleep(1)
        assert not held.done()
        requests.post(writer.url('/v1/woken'), headers=headers, data='{}',
                      timeout=30)
        feed = held.result(timeout=30)
    assert [change['container'] for change in feed['changes']] == ['woken']
    assert time.monotonic() - started < 15     # woken, not timed out


def test_long_poll_answers_empty_when_the_wait_runs_out(feed_api):
    server = feed_api[0]
    headers = _user()
    requests.post(server.url('/v1/c'), headers=headers, data='{}',
                  timeout=30)
    cursor = _changes(server, headers, 0)['cursor']
    started = time.monotonic()
    feed = _changes(server, headers, cursor, wait='1.5')
    assert feed == {'changes': [], 'cursor': cursor, 'more': False}
    assert time.monotonic() - started >= 1.4
    # Changes already there: answered at once, whatever the wait.
    started = time.monotonic()
    assert _changes(server, headers, 0, wait=30)['changes']
    assert time.monotonic() - started < 10


def test_watch_holds_until_the_container_changes(feed_api):
    waiter, writer = feed_api
    headers = _user()
    etag = requests.post(waiter.url('/v1/watched'), headers=headers,
                         data='{"v": 1}', timeout=30).headers['ETag']

    def watch(path, seconds):
        return requests.get(waiter.url(path), timeout=60, headers=dict(
            headers, **{'If-None-Match': etag,
                        'Prefer': 'wait=%s' % seconds}))

    started = time.monotonic()
    unchanged = watch('/v1/watched', 1)
    assert unchanged.status_code == 304
    assert time.monotonic() - started >= 0.9
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        whole = pool.submit(watch, '/v1/watched', 15)
        path = pool.submit(watch, '/v1/watched/v', 15)
        time.sleep(1)
        assert not whole.done() and not path.done()
        requests.post(writer.url('/v1/watched/v'), headers=headers,
                      data='2', timeout=30)
        whole, path = whole.result(timeout=30), path.result(timeout=30)
    assert whole.status_code == 200 and whole.json() == {'v': 2}
    assert whole.headers['ETag'] != etag
    assert path.status_code == 200 and path.json() == 2
    # Without If-None-Match, Prefer: wait changes nothing.
    plain = requests.get(waiter.url('/v1/watched'), timeout=30,
                         headers=dict(headers, Prefer='wait=10'))
    assert plain.status_code == 200


def test_watch_of_a_deleted_container_answers_404(feed_api):
    waiter, writer = feed_api
    headers = _user()
    etag = requests.post(waiter.url('/v1/doomed'), headers=headers,
                         data='{}', timeout=30).headers['ETag']
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        held = pool.submit(requests.get, waiter.url('/v1/doomed'),
                           timeout=60, headers=dict(
                               headers, **{'If-None-Match': etag,
                                           'Prefer': 'wait=15'}))
        time.sleep(1)
        requests.delete(writer.url('/v1/doomed'), headers=headers,
                        timeout=30)
        response = held.result(timeout=30)
    assert response.status_code == 404
    assert response.json()['errors'][0]['code'] == 'cloudprefs.not_found'


def test_wait_is_capped_by_max_wait(connection, tmp_path):
    server = api_server.ApiServer(str(tmp_path), connection,
                                  sections={'changes': {'max_wait': '1'}})
    server.start()
    try:
        started = time.monotonic()
        feed = _changes(server, _user(), 0, wait=60)
        assert feed['changes'] == []
        assert 0.9 <= time.monotonic() - started < 30
    finally:
        server.stop()


def test_stopping_answers_held_requests_at_once(connection, tmp_path):
    server = api_server.ApiServer(
        str(tmp_path), connection,
        sections={'DEFAULT': {'api_workers': '2',
                              'graceful_shutdown_timeout': '30'}})
    server.start()
    headers = _user()
    requests.post(server.url('/v1/c'), headers=headers, data='{}',
                  timeout=30)
    cursor = _changes(server, headers, 0)['cursor']
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        held = [pool.submit(_changes, server, headers, cursor, wait=60)
                for _ in range(4)]
        time.sleep(1.5)
        assert not any(request.done() for request in held)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        answers = [request.result(timeout=30) for request in held]
        answered_in = time.monotonic() - started
    server.process.wait(timeout=30)
    assert answers == [{'changes': [], 'cursor': cursor, 'more': False}] * 4
    assert answered_in < 20     # not the 60 s wait, nor the 30 s timeout


def test_a_follower_misses_nothing_while_many_write(feed_api):
    """8 writers × 200 writes over 20 containers through two processes
    of two workers each; a follower long-polls the feed throughout. It
    must end with every container's final revision and existence, and
    never see a container go back to an older revision."""
    headers = _user()
    names = ['c%02d' % index for index in range(CONTAINERS)]
    done = threading.Event()
    problems = []

    def write(writer):
        session = requests.Session()
        randomness = random.Random(writer)
        for index in range(WRITES_PER_WRITER):
            server = feed_api[(writer + index) % 2]
            name = randomness.choice(names)
            roll = randomness.random()
            if roll < 0.08:
                response = session.delete(server.url('/v1/' + name),
                                          headers=headers, timeout=60)
            elif roll < 0.16:
                response = session.delete(
                    server.url('/v1/%s/k%d' % (name, writer)),
                    headers=headers, timeout=60)
                if response.status_code == 404:
                    continue
            else:
                response = session.post(
                    server.url('/v1/%s/k%d' % (name, writer)),
                    headers=headers, data=json.dumps(index), timeout=60)
            if response.status_code != 204:
                problems.append((response.status_code, response.text))

    def follow():
        session = requests.Session()
        state, cursor, reads = {}, '0', 0
        while True:
            finished = done.is_set()
            response = session.get(
                feed_api[reads % 2].url('/v1'), headers=headers,
                params={'since': cursor, 'wait': 0 if finished else 2,
                        'limit': 50}, timeout=60)
            reads += 1
            assert response.status_code == 200, response.text
            page = response.json()
            for change in page['changes']:
                name, revision = change['container'], change['revision']
                before = state.get(name)
                if revision is not None and before is not None:
                    # Containers only move forward.
                    assert int(revision) > int(before), (name, before,
                                                         revision)
                state[name] = revision
            assert int(page['cursor']) >= int(cursor)
            cursor = page['cursor']
            if finished and not page['more']:
                return state, reads

    with concurrent.futures.ThreadPoolExecutor(WRITERS + 1) as pool:
        follower = pool.submit(follow)
        started = time.monotonic()
        list(pool.map(write, range(WRITERS)))
        elapsed = time.monotonic() - started
        done.set()
        state, reads = follower.result(timeout=120)
    assert problems == []
    print('%d writes in %.1f s; the follower read the feed %d times'
          % (WRITERS * WRITES_PER_WRITER, elapsed, reads))
    final = {}
    for name in requests.get(feed_api[0].url('/v1'), headers=headers,
                             timeout=30).json():
        head = requests.head(feed_api[1].url('/v1/' + name),
                             headers=headers, timeout=30)
        final[name] = head.headers['ETag'].strip('"')
    assert final, 'the writers left no container at all'
    assert {name: revision for name, revision in state.items()
            if revision is not None} == final


def test_another_users_feed_is_for_administrators(feed_api):
    server = feed_api[0]
    owner = _user()
    requests.post(server.url('/v1/mine'), headers=owner, data='{}',
                  timeout=30)
    params = {'since': '0', 'user_id': owner['X-User-Id']}
    refused = requests.get(server.url('/v1'), params=params,
                           headers=_user(), timeout=30)
    assert refused.status_code == 403
    assert refused.json()['errors'][0]['code'] == 'cloudprefs.forbidden'
    admin = dict(_user(), **{'X-Roles': 'admin',
                             'OpenStack-System-Scope': 'all'})
    allowed = requests.get(server.url('/v1'), params=params, headers=admin,
                           timeout=30)
    assert allowed.status_code == 200
    assert [change['container'] for change in allowed.json()['changes']
            ] == ['mine']


def test_reloading_answers_held_requests_and_serves_on(connection,
                                                       tmp_path):
    server = api_server.ApiServer(
        str(tmp_path), connection,
        sections={'DEFAULT': {'api_workers': '2'}})
    server.start()
    try:
        headers = _user()
        cursor = _changes(server, headers, 0)['cursor']
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            held = [pool.submit(_changes, server, headers, cursor, wait=60)
                    for _ in range(2)]
            time.sleep(1.5)
            started = time.monotonic()
            server.process.send_signal(signal.SIGHUP)
            answers = [request.result(timeout=30) for request in held]
            answered_in = time.monotonic() - started
        assert answers == [{'changes': [], 'cursor': cursor,
                            'more': False}] * 2
        assert answered_in < 20
        written = requests.post(server.url('/v1/after'), headers=headers,
                                data='{}', timeout=30)
        assert written.status_code == 204
    finally:
        server.stop()


DAY_US = 24 * 3600 * 10 ** 6


def _age_tombstones(connection, user_id, days):
    """Make the user's tombstones ``days`` older, in the database itself
    (no API can: a change is made now)."""
    if connection.startswith('mongodb'):
        client = pymongo.MongoClient(connection)
        try:
            client.get_default_database().containers.update_many(
                {'u': user_id, 'x': True}, {'$inc': {'m': -days * DAY_US}})
        finally:
            client.close()
        return
    engine = sa.create_engine(connection)
    try:
        with engine.begin() as db:
            db.execute(sa.text(
                'UPDATE container_changes SET changed_us = changed_us - '
                ':age WHERE user_id = :user_id AND revision IS NULL'),
                {'age': days * DAY_US, 'user_id': user_id.encode('utf-8')})
    finally:
        engine.dispose()


def _tombstone_older_than_retention(server, connection):
    """A user with one live container and one tombstone 15 days old;
    (headers, a cursor from before the deletion, the live container)."""
    headers = _user()
    requests.post(server.url('/v1/kept'), headers=headers, data='{}',
                  timeout=30)
    before = requests.post(server.url('/v1/gone'), headers=headers,
                           data='{}', timeout=30).headers['X-Cursor']
    requests.delete(server.url('/v1/gone'), headers=headers, timeout=30)
    _age_tombstones(connection, headers['X-User-Id'], 15)
    return headers, before


def _assert_tombstone_expired(server, headers, before):
    expired = requests.get(server.url('/v1'), headers=headers,
                           params={'since': before}, timeout=30)
    assert expired.status_code == 410
    assert expired.json()['errors'][0]['code'] == 'cloudprefs.cursor_expired'
    assert [change['container'] for change in
            _changes(server, headers, 0)['changes']] == ['kept']


def test_expire_changes_drops_old_tombstones(feed_api, connection,
                                             tmp_path):
    server = feed_api[0]
    headers, before = _tombstone_older_than_retention(server, connection)
    # Still followable before the sweep.
    assert [change['container'] for change in
            _changes(server, headers, before)['changes']] == ['gone']
    conf_path = config.write_config_file(
        str(tmp_path / 'manage.conf'),
        {'database': {'connection': connection}})
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'cloudprefs-manage'),
         '--config-file', conf_path, 'expire_changes'],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert ('Dropped 1 tombstones older than 1209600 seconds or past '
            '1000 per user.') in result.stdout
    _assert_tombstone_expired(server, headers, before)


def test_tombstones_past_the_bound_are_dropped(feed_api, connection,
                                               tmp_path):
    """Created and deleted in a loop, containers leave tombstones that
    count in no quota: expire_changes keeps the newest
    [changes] max_tombstones_per_user."""
    server = feed_api[0]
    headers = _user()
    cursors = []
    for index in range(5):
        name = 'loop%d' % index
        assert requests.post(server.url('/v1/' + name), data='{}',
                             headers=headers, timeout=30).status_code == 204
        deleted = requests.delete(server.url('/v1/' + name),
                                  headers=headers, timeout=30)
        cursors.append(deleted.headers['X-Cursor'])
    conf_path = config.write_config_file(
        str(tmp_path / 'manage.conf'),
        {'database': {'connection': connection},
         'changes': {'max_tombstones_per_user': '2'}})
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'cloudprefs-manage'),
         '--config-file', conf_path, 'expire_changes'],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [change['container'] for change in
            _changes(server, headers, 0)['changes']] == ['loop3', 'loop4']
    expired = requests.get(server.url('/v1'), headers=headers, timeout=30,
                           params={'since': cursors[1]})
    assert expired.status_code == 410
    assert [change['container'] for change in
            _changes(server, headers, cursors[2])['changes']] == [
        'loop3', 'loop4']


def test_workers_sweep_old_tombstones(connection, tmp_path):
    server = api_server.ApiServer(
        str(tmp_path), connection,
        sections={'changes': {'expire_interval': '1'}})
    server.start()
    try:
        headers, before = _tombstone_older_than_retention(server,
                                                          connection)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = requests.get(server.url('/v1'), headers=headers,
                                    params={'since': before}, timeout=30)
            if response.status_code == 410:
                break
            time.sleep(0.5)
        _assert_tombstone_expired(server, headers, before)
    finally:
        server.stop()


def _poll_answer(server, headers, wait):
    response = requests.get(server.url('/v1'), headers=headers,
                            params={'since': '0', 'wait': str(wait)},
                            timeout=wait + 30)
    assert response.status_code == 200, response.text
    return response


def test_a_client_that_hangs_up_gives_its_place_back(tmp_path):
    """[changes] max_waiting_per_user bounds one user's held requests; the
    places of polls whose client hung up are free again within seconds,
    not when their wait would have ended (issue: one user opening and
    dropping polls locked every other client out)."""
    import socket
    server = api_server.ApiServer(
        str(tmp_path), None,
        sections={'changes': {'max_waiting_per_user': '2'}}).start()
    headers = {'X-User-Id': 'hangs-up'}
    try:
        socks = []
        for _ in range(2):
            sock = socket.create_connection(('127.0.0.1', server.port))
            sock.sendall(b'GET /v1?since=0&wait=60 HTTP/1.1\r\nHost: x\r\n'
                         b'X-User-Id: hangs-up\r\n\r\n')
            socks.append(sock)
        time.sleep(1)
        # Both places taken: a third poll is answered at once.
        refused = _poll_answer(server, headers, 30)
        assert int(refused.headers['Retry-After']) >= 1
        assert refused.json()['changes'] == []
        for sock in socks:
            sock.close()
        # Within a few seconds the places are free: a poll is held again
        # (until a write wakes it), not refused.
        deadline = time.monotonic() + 10
        while True:
            started = time.monotonic()
            answer = _poll_answer(server, headers, 2)
            if 'Retry-After' not in answer.headers:
                assert time.monotonic() - started >= 1.5
                break
            assert time.monotonic() < deadline, 'places never given back'
            time.sleep(0.5)
    finally:
        server.stop()
