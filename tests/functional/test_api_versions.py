"""Microversions and what each added, over HTTP, on every backend and
under both servers: OpenStack-API-Version, the version document, and
JSON Patch (1.1)."""

import concurrent.futures
import datetime
import email.utils
import time
import json
import uuid

import pytest
import requests

from cloudprefs.api import microversion
from tests.functional.conftest import TEST_LIMITS
from tests.functional.test_api import assert_error
from tests.functional.test_api import Client
from tests.support import api_server

SERVERS = (api_server.CLOUDPREFS_API, api_server.UWSGI)
JSON_PATCH = 'application/json-patch+json'
MERGE_PATCH = 'application/merge-patch+json'


@pytest.fixture
def client(api):
    return Client(api, 'user-' + uuid.uuid4().hex)


def at(version, **headers):
    headers['OpenStack-API-Version'] = 'preferences ' + version
    return headers


def json_patch(client, container, operations, version='1.1', **headers):
    return client.request(
        'PATCH', '/v1/' + container, json.dumps(operations),
        headers=dict(at(version, **headers), **{'Content-Type': JSON_PATCH}))


def assert_answered_at(response, version):
    assert response.headers['OpenStack-API-Version'] == \
        'preferences ' + version
    varies = [value.strip() for value in
              response.headers.get('Vary', '').split(',')]
    assert 'OpenStack-API-Version' in varies


# The mechanism ---------------------------------------------------------------

def test_without_a_header_the_answer_is_1_0(client):
    assert client.post_json('/v1/c', {'a': 1}).status_code == 204
    for response in (client.get('/v1'), client.get('/v1/c'),
                     client.request('HEAD', '/v1/c'),
                     client.get('/v1/missing')):
        assert_answered_at(response, '1.0')
    assert client.get('/v1').json() == ['c']


@pytest.mark.parametrize('asked,answered', [
    ('1.0', '1.0'), ('1.1', '1.1'), ('latest', microversion.MAX_VERSION)])
def test_the_version_asked_for_answers(client, asked, answered):
    assert_answered_at(client.get('/v1', headers=at(asked)), answered)
    # Errors and 304s say it too.
    assert_answered_at(client.get('/v1/missing', headers=at(asked)),
                       answered)
    client.post_json('/v1/c', {})
    etag = client.get('/v1/c').headers['ETag']
    response = client.get('/v1/c', headers=at(asked, **{
        'If-None-Match': etag}))
    assert response.status_code == 304
    assert_answered_at(response, answered)


@pytest.mark.parametrize('header', ['preferences 1.x', 'preferences 1',
                                    'preferences', 'preferences 1.1.0'])
def test_a_malformed_version_is_400(client, header):
    response = client.get('/v1', headers={'OpenStack-API-Version': header})
    assert_error(response, 400, 'cloudprefs.invalid_api_version')
    assert 'OpenStack-API-Version' in response.headers['Vary']


@pytest.mark.parametrize('version', ['2.0', '1.999', '0.9'])
def test_a_version_not_served_is_406(client, version):
    response = client.post_json('/v1/c', {'a': 1})
    etag = response.headers['ETag']
    response = client.request('POST', '/v1/c', '{"a": 2}',
                              headers=at(version))
    error = assert_error(response, 406,
                         'cloudprefs.api_version_not_available')
    assert microversion.MAX_VERSION in error['detail']
    # Refused before anything ran: nothing was written.
    assert client.get('/v1/c').headers['ETag'] == etag


def test_another_services_version_is_not_ours(client):
    response = client.get('/v1', headers={
        'OpenStack-API-Version': 'compute 2.95'})
    assert response.status_code == 200
    assert_answered_at(response, '1.0')


def test_the_version_document_gives_the_range(api):
    response = requests.get(api.url('/'), timeout=10)
    assert response.status_code == 200
    (v1,) = response.json()['versions']
    assert v1['min_version'] == '1.0'
    assert v1['version'] == microversion.MAX_VERSION


# JSON Patch (1.1) -----------------------------------------------------------

def test_at_1_0_a_json_patch_is_refused_as_before(client):
    client.post_json('/v1/c', {'a': 1})
    for version in (None, '1.0'):
        headers = {'Content-Type': JSON_PATCH}
        if version:
            headers.update(at(version))
        response = client.request(
            'PATCH', '/v1/c', '[{"op": "remove", "path": "/a"}]',
            headers=headers)
        assert_error(response, 415, 'cloudprefs.unsupported_media_type')
        assert response.headers['Accept-Patch'] == MERGE_PATCH
    assert client.get('/v1/c').json() == {'a': 1}


def test_at_1_1_another_type_names_both(client):
    response = client.request('PATCH', '/v1/c', '{}', headers=at(
        '1.1', **{'Content-Type': 'application/json'}))
    assert_error(response, 415, 'cloudprefs.unsupported_media_type')
    assert response.headers['Accept-Patch'] == ', '.join(
        (MERGE_PATCH, JSON_PATCH))
    # And merge patches work at 1.1 as at 1.0.
    response = client.request('PATCH', '/v1/c', '{"m": {"n": 1}}',
                              headers=at('1.1', **{
                                  'Content-Type': MERGE_PATCH}))
    assert response.status_code == 204
    assert client.get('/v1/c').json() == {'m': {'n': 1}}


def test_a_json_patch_applies_every_operation(client):
    client.post_json('/v1/prefs', {'theme': {'dark': True},
                                   'recent': ['b.txt', 'c.txt'],
                                   'old': 1})
    before = client.get('/v1')
    response = json_patch(client, 'prefs', [
        {'op': 'test', 'path': '/theme/dark', 'value': True},
        {'op': 'add', 'path': '/recent/0', 'value': 'a.txt'},
        {'op': 'remove', 'path': '/recent/2'},
        {'op': 'replace', 'path': '/theme/dark', 'value': False},
        {'op': 'move', 'from': '/old', 'path': '/legacy'},
        {'op': 'copy', 'from': '/theme', 'path': '/theme_backup'},
        {'op': 'add', 'path': '/a~1b', 'value': {'~': None}}])
    assert response.status_code == 204, response.text
    assert_answered_at(response, '1.1')
    assert client.get('/v1/prefs').json() == {
        'theme': {'dark': False}, 'recent': ['a.txt', 'b.txt'], 'legacy': 1,
        'theme_backup': {'dark': False}, 'a/b': {'~': None}}
    assert client.get('/v1/prefs').headers['ETag'] == \
        response.headers['ETag']
    # One write, in the feed like any other.
    cursor = int(before.headers['X-Cursor'])
    assert int(response.headers['X-Cursor']) == cursor + 1
    changes = client.get('/v1?since=%d' % cursor).json()
    assert [change['container'] for change in changes['changes']] == \
        ['prefs']


def test_a_failed_operation_stores_nothing(client):
    client.post_json('/v1/c', {'a': 1, 'list': [1]})
    etag = client.get('/v1/c').headers['ETag']
    for operations, status, code in [
            ([{'op': 'replace', 'path': '/a', 'value': 2},
              {'op': 'test', 'path': '/a', 'value': 1}],
             409, 'cloudprefs.patch_conflict'),
            ([{'op': 'add', 'path': '/b', 'value': 1},
              {'op': 'remove', 'path': '/missing'}],
             409, 'cloudprefs.patch_conflict'),
            ([{'op': 'add', 'path': '/list/5', 'value': 1}],
             409, 'cloudprefs.patch_conflict'),
            ([{'op': 'add', 'path': '/b', 'value': 1},
              {'op': 'jump', 'path': '/a'}],
             400, 'cloudprefs.invalid_patch'),
            ({'op': 'add', 'path': '/b', 'value': 1},
             400, 'cloudprefs.invalid_patch'),
            ([{'op': 'replace', 'path': '', 'value': [1]}],
             400, 'cloudprefs.invalid_patch'),
            ([{'op': 'copy', 'from': '/list', 'path': ''}],
             409, 'cloudprefs.patch_conflict')]:
        response = json_patch(client, 'c', operations)
        error = assert_error(response, status, code)
        assert 'nothing' in error['detail'] or status == 400
        assert_answered_at(response, '1.1')
    conflict = json_patch(client, 'c', [
        {'op': 'add', 'path': '/x', 'value': 1},
        {'op': 'test', 'path': '/a', 'value': 'one'}])
    assert 'Operation 1 ' in conflict.json()['errors'][0]['detail']
    assert client.get('/v1/c').json() == {'a': 1, 'list': [1]}
    assert client.get('/v1/c').headers['ETag'] == etag


def test_a_json_patch_honours_if_match(client):
    etag = client.post_json('/v1/c', {'n': 1}).headers['ETag']
    client.post_json('/v1/c/n', 2)
    response = json_patch(client, 'c', [
        {'op': 'replace', 'path': '/n', 'value': 10}], **{'If-Match': etag})
    assert_error(response, 412, 'cloudprefs.precondition_failed')
    current = client.get('/v1/c')
    assert current.json() == {'n': 2}
    response = json_patch(client, 'c', [
        {'op': 'replace', 'path': '/n', 'value': 10}],
        **{'If-Match': current.headers['ETag']})
    assert response.status_code == 204
    assert client.get('/v1/c').json() == {'n': 10}


def test_a_patch_that_changes_nothing_stores_nothing(client):
    etag = client.post_json('/v1/c', {'n': 1}).headers['ETag']
    response = json_patch(client, 'c', [
        {'op': 'test', 'path': '/n', 'value': 1.0},
        {'op': 'replace', 'path': '/n', 'value': 1}])
    assert response.status_code == 204
    assert response.headers['ETag'] == etag
    assert 'X-Cursor' not in response.headers


def test_a_missing_container_is_patched_from_empty(client):
    response = json_patch(client, 'new', [
        {'op': 'add', 'path': '/a', 'value': [1]}])
    assert response.status_code == 204
    assert client.get('/v1/new').json() == {'a': [1]}
    response = json_patch(client, 'other', [
        {'op': 'test', 'path': '/a', 'value': 1}])
    assert_error(response, 409, 'cloudprefs.patch_conflict')
    assert client.get('/v1/other').status_code == 404


def test_a_json_patch_keeps_the_limits(client):
    client.post_json('/v1/c', {'deep': {'a': {'b': {}}}})
    too_deep = {'x': 1}
    for _level in range(40):
        too_deep = {'x': too_deep}
    assert_error(json_patch(client, 'c', [
        {'op': 'add', 'path': '/d', 'value': too_deep}]),
        400, 'cloudprefs.too_deep')
    # A copy can nest what was stored deeper than the limit allows.
    path = ''
    for level in range(31):
        path += '/k%d' % level
        json_patch(client, 'c', [{'op': 'add', 'path': path, 'value': {}}])
    assert_error(json_patch(client, 'c', [
        {'op': 'copy', 'from': '/k0', 'path': path + '/copy'}]),
        400, 'cloudprefs.too_deep')
    # A third of the container's limit, in a body under its own limit,
    # copied twice.
    big = 'x' * (int(TEST_LIMITS['max_container_size']) // 3 + 1)
    assert len(big) < int(TEST_LIMITS['max_request_body_size'])
    assert_error(json_patch(client, 'c', [
        {'op': 'add', 'path': '/big', 'value': big},
        {'op': 'copy', 'from': '/big', 'path': '/big2'},
        {'op': 'copy', 'from': '/big', 'path': '/big3'}]),
        413, 'cloudprefs.container_too_large')
    response = client.request(
        'PATCH', '/v1/c',
        '[{"op": "add", "path": "/a", "value": 1, "value": 2}]',
        headers=at('1.1', **{'Content-Type': JSON_PATCH}))
    assert_error(response, 400, 'cloudprefs.invalid_json')
    response = json_patch(client, 'c', [
        {'op': 'add', 'path': '/n', 'value': 2 ** 63}])
    assert_error(response, 400, 'cloudprefs.invalid_json')
    assert 'big' not in client.get('/v1/c').json()


def test_concurrent_json_patches_lose_nothing(client):
    client.post_json('/v1/c', {'items': []})

    def append(number):
        return json_patch(client, 'c', [
            {'op': 'add', 'path': '/items/-', 'value': number}]).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(append, range(40)))
    assert statuses == [204] * 40
    assert sorted(client.get('/v1/c').json()['items']) == list(range(40))


# Detailed listing (1.2) ------------------------------------------------------

def test_before_1_2_detail_is_ignored(client):
    client.post_json('/v1/c', {'a': 1})
    for version in ('1.0', '1.1'):
        response = client.get('/v1?detail=true', headers=at(version))
        assert response.json() == ['c']
        assert response.headers['ETag'] == client.get('/v1').headers['ETag']
    response = client.get('/v1?detail=nonsense', headers=at('1.1'))
    assert response.status_code == 200


def test_a_detailed_listing_says_what_reads_say(client):
    names = ['a', 'b/c', 'z', 'é']      # code-point order
    for number, name in enumerate(names):
        client.post_json('/v1/' + name.replace('/', '%2F'),
                         {'n': number, 'text': 'x' * number})
    response = client.get('/v1?detail=true', headers=at('1.2'))
    assert response.status_code == 200
    assert_answered_at(response, '1.2')
    details = response.json()
    assert [item['name'] for item in details] == names
    for item in details:
        read = client.get('/v1/' + item['name'].replace('/', '%2F'))
        assert set(item) == {'name', 'bytes', 'etag', 'last_modified'}
        assert item['bytes'] == int(read.headers['Content-Length'])
        assert item['etag'] == read.headers['ETag']
        # The same second as Last-Modified, to the microsecond.
        seconds = email.utils.parsedate_to_datetime(
            read.headers['Last-Modified']).replace(tzinfo=None)
        stamp = datetime.datetime.strptime(item['last_modified'],
                                           '%Y-%m-%dT%H:%M:%S.%fZ')
        assert stamp.replace(microsecond=0) == seconds
    assert client.get('/v1?detail=false', headers=at('1.2')).json() == \
        names
    assert_error(client.get('/v1?detail=yes', headers=at('1.2')),
                 400, 'cloudprefs.bad_request')


def test_a_detailed_listing_pages_like_names(client):
    names = ['c%02d' % number for number in range(7)] + ['other']
    for name in names:
        client.post_json('/v1/' + name, {})
    seen, url = [], '/v1?detail=true&limit=3&prefix=c'
    while url:
        response = client.get(url, headers=at('1.2'))
        seen.extend(item['name'] for item in response.json())
        link = response.links.get('next', {}).get('url')
        if link:
            assert 'detail=true' in link
            url = link[link.index('/v1'):]
        else:
            url = None
    assert seen == names[:7]
    head = client.request('HEAD', '/v1?detail=true', headers=at('1.2'))
    assert head.status_code == 200 and head.content == b''


def test_a_detailed_listing_changes_its_etag_with_any_container(client):
    client.post_json('/v1/c', {'a': 1})
    first = client.get('/v1?detail=true', headers=at('1.2'))
    unchanged = client.get('/v1?detail=true', headers=at(
        '1.2', **{'If-None-Match': first.headers['ETag']}))
    assert unchanged.status_code == 304
    client.post_json('/v1/c/a', 2)          # same names, new revision
    changed = client.get('/v1?detail=true', headers=at(
        '1.2', **{'If-None-Match': first.headers['ETag']}))
    assert changed.status_code == 200
    assert changed.json()[0]['etag'] != first.json()[0]['etag']


# Expiring containers (1.3) ---------------------------------------------------

# Sweeps every second here (the default is 10 s), to see their tombstones.
SWEEP_INTERVAL = 1


@pytest.fixture(scope='module')
def api(connection, server_kind, tmp_path_factory):
    server = api_server.server_of_kind(
        server_kind, str(tmp_path_factory.mktemp('api')), connection,
        sections={'api': TEST_LIMITS, 'changes': {'max_wait': '0'},
                  'expiry': {'sweep_interval': str(SWEEP_INTERVAL)}})
    server.start()
    yield server
    server.stop()


def until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_before_1_3_expiry_headers_are_ignored(client):
    response = client.request('POST', '/v1/c', '{"a": 1}', headers=at(
        '1.2', **{'X-Delete-After': '1', 'X-Delete-At': 'nonsense'}))
    assert response.status_code == 204
    for version in ('1.0', '1.3'):
        assert 'X-Delete-At' not in client.get(
            '/v1/c', headers=at(version)).headers
    (detail,) = client.get('/v1?detail=true', headers=at('1.3')).json()
    assert detail['expires_at'] is None
    assert 'expires_at' not in client.get(
        '/v1?detail=true', headers=at('1.2')).json()[0]


def test_expiry_is_set_shown_kept_and_cleared(client):
    at_second = int(time.time()) + 3600
    response = client.request('PUT', '/v1/c', '{"a": {"b": 1}}', headers=at(
        '1.3', **{'X-Delete-At': str(at_second)}))
    assert response.status_code == 204
    for response in (client.get('/v1/c', headers=at('1.3')),
                     client.request('HEAD', '/v1/c', headers=at('1.3')),
                     client.get('/v1/c/a/b', headers=at('1.3'))):
        assert response.status_code == 200
        assert response.headers['X-Delete-At'] == str(at_second)
    # Only from 1.3 on.
    assert 'X-Delete-At' not in client.get('/v1/c').headers
    (detail,) = client.get('/v1?detail=true', headers=at('1.3')).json()
    assert detail['expires_at'] == time.strftime(
        '%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime(at_second))
    # A write without the headers keeps it, at any version.
    client.post_json('/v1/c/a/b', 2)
    json_patch(client, 'c', [{'op': 'add', 'path': '/d', 'value': 1}],
               version='1.3')
    assert client.get('/v1/c', headers=at('1.3')).headers[
        'X-Delete-At'] == str(at_second)
    asked = time.time()
    later = client.request('POST', '/v1/c', '{}', headers=at(
        '1.3', **{'X-Delete-After': '7200'}))
    assert later.status_code == 204
    shown = int(client.get('/v1/c', headers=at('1.3')).headers[
        'X-Delete-At'])
    # At least the seconds asked for, counted from before the request.
    assert asked + 7200 <= shown < time.time() + 7200 + 2
    cleared = client.request('PATCH', '/v1/c', '{}', headers=at(
        '1.3', **{'X-Remove-Delete-At': '1',
                  'Content-Type': MERGE_PATCH}))
    assert cleared.status_code == 204
    assert cleared.headers['ETag'] != later.headers['ETag']
    assert 'X-Delete-At' not in client.get('/v1/c', headers=at(
        '1.3')).headers
    assert client.get('/v1/c').json() == {'a': {'b': 2}, 'd': 1}


@pytest.mark.parametrize('headers', [
    {'X-Delete-At': '1000'},                        # the past
    {'X-Delete-At': 'tomorrow'},
    {'X-Delete-At': '-5'},
    {'X-Delete-At': '1e10'},
    {'X-Delete-At': '9' * 13},
    {'X-Delete-At': '999999999999'},                # after 9999
    {'X-Delete-After': '0'},
    {'X-Delete-After': '1.5'},
    {'X-Delete-After': '60', 'X-Delete-At': '99999999999'},
    {'X-Delete-After': '60', 'X-Remove-Delete-At': '1'},
])
def test_a_bad_expiry_is_400_and_stores_nothing(client, headers):
    etag = client.post_json('/v1/c', {'a': 1}).headers['ETag']
    response = client.request('POST', '/v1/c', '{"a": 2}',
                              headers=at('1.3', **headers))
    assert_error(response, 400, 'cloudprefs.bad_request')
    assert client.get('/v1/c').headers['ETag'] == etag


def test_an_expired_container_is_gone_at_once_and_swept(client):
    client.post_json('/v1/kept', {})
    cursor = client.get('/v1').headers['X-Cursor']
    # Two seconds at least: the listing below must come before the
    # expiry even on a loaded machine.
    written = client.request('POST', '/v1/brief', '{"old": 1}', headers=at(
        '1.3', **{'X-Delete-After': '2'}))
    assert written.status_code == 204
    assert client.get('/v1').json() == ['brief', 'kept']
    assert until(lambda: client.get('/v1/brief').status_code == 404,
                 timeout=5)
    assert client.request('HEAD', '/v1/brief').status_code == 404
    assert client.get('/v1/brief/old').status_code == 404
    listing = client.get('/v1')
    assert listing.json() == ['kept']
    assert listing.headers['X-Container-Count'] == '1'
    assert [item['name'] for item in client.get(
        '/v1?detail=true', headers=at('1.3')).json()] == ['kept']
    stale = client.request('POST', '/v1/brief/new', '1', headers={
        'If-Match': written.headers['ETag']})
    assert_error(stale, 412, 'cloudprefs.precondition_failed')
    # The sweep deletes it: a tombstone in the feed.

    def tombstone():
        changes = client.get('/v1?since=' + cursor).json()['changes']
        return [change for change in changes
                if change['container'] == 'brief' and change['deleted']]
    assert until(tombstone, timeout=SWEEP_INTERVAL * 10)
    # A write makes a new container.
    assert client.post_json('/v1/brief', {'new': 1}).status_code == 204
    assert client.get('/v1/brief').json() == {'new': 1}
