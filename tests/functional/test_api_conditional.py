"""Beyond the original API, over HTTP on every backend: ETags and
conditional requests, PATCH, HEAD, paging, usage and quotas."""

import json
import time
import uuid

import pytest
import requests

from tests.support import api_server

QUOTAS = {'containers_per_user': '3', 'bytes_per_user': '200'}


@pytest.fixture(scope='module')
def quota_api(connection, tmp_path_factory):
    server = api_server.ApiServer(str(tmp_path_factory.mktemp('quota')),
                                  connection, sections={'quota': QUOTAS},
                                  name='quota-api')
    server.start()
    yield server
    server.stop()


class Client:

    def __init__(self, api, user_id=None):
        self.api = api
        self.user_id = user_id or 'user-' + uuid.uuid4().hex

    def __call__(self, method, path, body=None, **headers):
        headers = {name.replace('_', '-'): value
                   for name, value in headers.items()}
        headers['X-User-Id'] = self.user_id
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        return requests.request(method, self.api.url(path), data=body,
                                headers=headers, timeout=30)


@pytest.fixture
def call(api):
    return Client(api)


def error_code(response):
    return response.json()['errors'][0]['code']


# ETags and conditional reads -------------------------------------------------

def test_etag_and_last_modified_on_reads_and_writes(call):
    response = call('POST', '/v1/c', {'a': {'b': 1}})
    assert response.status_code == 204
    etag = response.headers['ETag']
    assert etag.startswith('"') and etag.endswith('"')
    for path in ('/v1/c', '/v1/c/a', '/v1/c/a/b'):
        response = call('GET', path)
        assert response.headers['ETag'] == etag
        assert response.headers['Last-Modified'].endswith(' GMT')
    # A write that changes nothing keeps it: other clients' If-Match
    # still holds.
    unchanged = call('POST', '/v1/c', {'a': {'b': 1}})
    assert unchanged.status_code == 204
    assert unchanged.headers['ETag'] == etag
    deleted = call('DELETE', '/v1/c/missing')
    assert deleted.status_code == 204
    assert deleted.headers['ETag'] == etag
    assert call('POST', '/v1/c/a/b', '1', If_Match=etag).status_code == 204
    # A write that changes something changes it.
    again = call('POST', '/v1/c', {'a': {'b': 2}}).headers['ETag']
    assert again != etag
    deleted = call('DELETE', '/v1/c/a')
    assert deleted.status_code == 204
    assert deleted.headers['ETag'] not in (etag, again)
    assert call('GET', '/v1/c').headers['ETag'] == deleted.headers['ETag']
    # A DELETE of a container answers no ETag; of a missing one neither.
    assert 'ETag' not in call('DELETE', '/v1/c').headers
    assert 'ETag' not in call('DELETE', '/v1/c/k').headers


def test_if_none_match_and_if_modified_since(call):
    etag = call('POST', '/v1/c/k', '1').headers['ETag']
    for method in ('GET', 'HEAD'):
        response = call(method, '/v1/c/k', If_None_Match=etag)
        assert response.status_code == 304
        assert response.headers['ETag'] == etag and not response.content
        assert call(method, '/v1/c', If_None_Match='*').status_code == 304
        assert call(method, '/v1/c', If_None_Match='W/%s, "1"' % etag
                    ).status_code == 304
        assert call(method, '/v1/c', If_None_Match='"1"').status_code == 200
    modified = call('GET', '/v1/c').headers['Last-Modified']
    assert call('GET', '/v1/c', If_Modified_Since=modified
                ).status_code == 304
    assert call('GET', '/v1/c', If_Modified_Since='Thu, 01 Jan 1970 '
                '00:00:00 GMT').status_code == 200
    assert call('GET', '/v1/c', If_Modified_Since='not a date'
                ).status_code == 400
    # If-None-Match wins over If-Modified-Since.
    assert call('GET', '/v1/c', If_None_Match='"1"',
                If_Modified_Since=modified).status_code == 200
    time.sleep(1.1)
    call('POST', '/v1/c/k', '2')
    assert call('GET', '/v1/c', If_Modified_Since=modified
                ).status_code == 200


# Conditional writes ----------------------------------------------------------

def assert_every_write_refused(call, container, **precondition):
    """Every kind of write to ``container`` (holding key ``n``) with the
    ``precondition`` headers fails with 412; the answers."""
    answers = []
    for method, path, body, content_type in (
            ('POST', '/n', '2', None), ('POST', '', {'x': 1}, None),
            ('PUT', '', {'x': 1}, None),
            ('PATCH', '', {'x': 1}, 'application/merge-patch+json'),
            ('DELETE', '/n', None, None), ('DELETE', '', None, None)):
        headers = dict(precondition)
        if content_type:
            headers['Content_Type'] = content_type
        response = call(method, '/v1/' + container + path, body, **headers)
        assert response.status_code == 412, (method, path)
        assert error_code(response) == 'cloudprefs.precondition_failed'
        answers.append(response)
    return answers


def test_if_match_makes_writes_conditional(call):
    etag = call('POST', '/v1/c', {'n': 0}).headers['ETag']
    response = call('POST', '/v1/c/n', '1', If_Match=etag)
    assert response.status_code == 204
    newer = response.headers['ETag']
    for response in assert_every_write_refused(call, 'c', If_Match=etag):
        assert response.headers['ETag'] == newer
    assert call('GET', '/v1/c').json() == {'n': 1}
    assert call('DELETE', '/v1/c', If_Match='"1", %s' % newer
                ).status_code == 204
    assert call('GET', '/v1/c').status_code == 404


def test_if_unmodified_since_makes_writes_conditional(call):
    """RFC 9110 section 13.1.4: a write to a container changed after the
    date fails with 412; one changed in that second or before goes ahead;
    If-Match, when sent, decides instead; a missing container has no
    date, and a value that is not a date is ignored."""
    before = 'Sun, 06 Nov 1994 08:49:37 GMT'
    assert call('POST', '/v1/new', {'n': 0},
                If_Unmodified_Since=before).status_code == 204
    assert_every_write_refused(call, 'new', If_Unmodified_Since=before)
    assert call('GET', '/v1/new').json() == {'n': 0}
    etag = call('GET', '/v1/new').headers['ETag']
    assert call('POST', '/v1/new/n', '1', If_Match=etag,
                If_Unmodified_Since=before).status_code == 204
    assert call('POST', '/v1/new/n', '3',
                If_Unmodified_Since='yesterday').status_code == 204
    last_modified = call('GET', '/v1/new').headers['Last-Modified']
    assert call('POST', '/v1/new/n', '4',
                If_Unmodified_Since=last_modified).status_code == 204
    assert call('GET', '/v1/new').json() == {'n': 4}


def test_if_match_star_and_if_none_match_star(call):
    response = call('POST', '/v1/c/k', '1', If_Match='*')
    assert response.status_code == 412 and 'ETag' not in response.headers
    assert call('GET', '/v1').json() == []
    assert call('POST', '/v1/c', {'a': 1}, If_None_Match='*'
                ).status_code == 204
    response = call('POST', '/v1/c', {'a': 2}, If_None_Match='*')
    assert response.status_code == 412
    assert call('POST', '/v1/c/k', '1', If_Match='*').status_code == 204
    assert call('GET', '/v1/c').json() == {'a': 1, 'k': 1}
    for method, path in (('POST', '/v1/c/k'), ('DELETE', '/v1/c')):
        response = call(method, path, '1', If_None_Match='*')
        assert response.status_code == 400
    assert call('POST', '/v1/c', '{}', If_None_Match='"1"'
                ).status_code == 400


def test_racing_conditional_writes_one_wins(call):
    import concurrent.futures
    # Each write a change (one that changed nothing would succeed too).
    etag = call('POST', '/v1/c', {'n': -1}).headers['ETag']
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(
            lambda i: call('POST', '/v1/c/n', str(i),
                           If_Match=etag).status_code, range(24)))
    assert statuses.count(204) == 1
    assert statuses.count(412) == 23


# PATCH and HEAD --------------------------------------------------------------

def test_merge_patch(call):
    call('POST', '/v1/c', {'a': {'x': 1, 'y': 2}, 'b': [1], 'c': 'keep'})
    response = call('PATCH', '/v1/c', {'a': {'x': None, 'z': {'w': 1}},
                                       'b': None},
                    Content_Type='application/merge-patch+json')
    assert response.status_code == 204 and response.headers['ETag']
    assert call('GET', '/v1/c').json() == {'a': {'y': 2, 'z': {'w': 1}},
                                           'c': 'keep'}
    assert call('PATCH', '/v1/c/a/z', {'v': 2},
                Content_Type='application/merge-patch+json; charset=utf-8'
                ).status_code == 204
    assert call('GET', '/v1/c/a/z').json() == {'w': 1, 'v': 2}
    assert call('PATCH', '/v1/new/p', [1],
                Content_Type='application/merge-patch+json'
                ).status_code == 204
    assert call('GET', '/v1/new').json() == {'p': [1]}
    response = call('PATCH', '/v1/c', [1],
                    Content_Type='application/merge-patch+json')
    assert error_code(response) == 'cloudprefs.not_an_object'
    response = call('PATCH', '/v1/c/c/x', {'a': 1},
                    Content_Type='application/merge-patch+json')
    assert response.status_code == 409


@pytest.mark.parametrize('content_type', [None, 'application/json',
                                          'application/json-patch+json'])
def test_other_patch_types_are_415(call, content_type):
    headers = {'Content_Type': content_type} if content_type else {}
    response = call('PATCH', '/v1/c', {'a': 1}, **headers)
    assert response.status_code == 415
    assert response.headers['Accept-Patch'] == 'application/merge-patch+json'
    assert call('GET', '/v1/c').status_code == 404


def test_head_matches_get(call):
    call('POST', '/v1/c', {'a': [1, 2, 3]})
    for path in ('/v1', '/v1/c', '/v1/c/a', '/v1/missing', '/v1/c/zz'):
        get = call('GET', path)
        head = call('HEAD', path)
        assert head.status_code == get.status_code
        assert head.content == b''
        for name in ('Content-Type', 'Content-Length', 'ETag',
                     'Last-Modified', 'X-Container-Count', 'X-Bytes-Used'):
            assert head.headers.get(name) == get.headers.get(name), name


# Paging and usage ------------------------------------------------------------

def test_paging(call, api):
    names = ['a', 'b', 'ba', 'bb', 'c', 'é', '🦄']
    for name in names:
        call('POST', '/v1/' + requests.utils.quote(name))
    response = call('GET', '/v1?limit=2')
    assert response.json() == ['a', 'b']
    link = response.headers['Link']
    assert link.endswith('; rel="next"')
    seen = response.json()
    while 'Link' in response.headers:
        url = response.headers['Link'].split(';')[0].strip('<>')
        response = requests.get(url, headers={'X-User-Id': call.user_id},
                                timeout=30)
        seen += response.json()
    assert seen == names
    assert call('GET', '/v1?prefix=b').json() == ['b', 'ba', 'bb']
    response = call('GET', '/v1?prefix=b&limit=1&marker=b')
    assert response.json() == ['ba']
    assert 'prefix=b' in response.headers['Link']
    assert call('GET', '/v1?marker=bz').json() == ['c', 'é', '🦄']
    assert 'Link' not in call('GET', '/v1?limit=7').headers
    for bad in ('0', '-1', 'x', '1.5', ''):
        response = call('GET', '/v1?limit=' + bad)
        assert response.status_code == 400, bad


def test_listing_etag_follows_the_set_of_containers(call):
    call('POST', '/v1/a')
    first = call('GET', '/v1')
    etag = first.headers['ETag']
    assert call('HEAD', '/v1').headers['ETag'] == etag
    assert call('GET', '/v1', If_None_Match=etag).status_code == 304
    call('POST', '/v1/a/k', '1')
    assert call('GET', '/v1', If_None_Match=etag).status_code == 304
    call('POST', '/v1/b')
    assert call('GET', '/v1', If_None_Match=etag).status_code == 200


def test_usage_headers(call):
    empty = call('GET', '/v1')
    assert empty.headers['X-Container-Count'] == '0'
    assert empty.headers['X-Bytes-Used'] == '0'
    call('POST', '/v1/a', {'é': 'x'})       # {"é":"x"} = 10 bytes
    call('POST', '/v1/b')                   # {} = 2 bytes
    response = call('HEAD', '/v1?limit=1')
    assert response.headers['X-Container-Count'] == '2'
    assert response.headers['X-Bytes-Used'] == '12'
    # The default quotas protect a shared service, and say so.
    assert response.headers['X-Container-Quota'] == '1000'
    assert response.headers['X-Bytes-Quota'] == str(64 * 1024 * 1024)


def test_quotas(quota_api):
    call = Client(quota_api)
    for name in ('a', 'b', 'c'):
        assert call('POST', '/v1/' + name).status_code == 204
    response = call('POST', '/v1/d')
    assert response.status_code == 403
    assert error_code(response) == 'cloudprefs.quota_exceeded'
    assert call('GET', '/v1').json() == ['a', 'b', 'c']
    assert call('POST', '/v1/a/k', '"%s"' % ('x' * 150)).status_code == 204
    response = call('POST', '/v1/b/k', '"%s"' % ('x' * 50))
    assert error_code(response) == 'cloudprefs.quota_exceeded'
    assert call('GET', '/v1/b').json() == {}
    assert call('DELETE', '/v1/a').status_code == 204
    assert call('POST', '/v1/b/k', '"%s"' % ('x' * 50)).status_code == 204
    assert call('POST', '/v1/d').status_code == 204
    other = Client(quota_api)
    assert other('POST', '/v1/a').status_code == 204
    headers = call('HEAD', '/v1').headers
    assert (headers['X-Container-Quota'], headers['X-Bytes-Quota']) == (
        '3', '200')


@pytest.fixture(scope='module')
def unlimited_api(connection, tmp_path_factory):
    server = api_server.ApiServer(
        str(tmp_path_factory.mktemp('unlimited')), connection,
        sections={'quota': {'containers_per_user': '-1',
                            'bytes_per_user': '-1'}},
        name='unlimited-api')
    server.start()
    yield server
    server.stop()


def test_quotas_switched_off(unlimited_api):
    call = Client(unlimited_api)
    assert call('POST', '/v1/c/k', '"%s"' % ('x' * 1000)).status_code == 204
    headers = call('HEAD', '/v1').headers
    assert 'X-Container-Quota' not in headers
    assert 'X-Bytes-Quota' not in headers
