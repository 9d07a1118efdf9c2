"""The /v1 API over HTTP, through a real cloudprefs-api process on every
backend, and through uwsgi (the shipped uwsgi.ini, without eventlet)."""

import concurrent.futures
import http.client
import json
import uuid

import pytest
import requests

from tests.functional.conftest import BROWSER_ORIGIN
from tests.functional.conftest import TEST_LIMITS
from tests.support import api_server

SERVERS = (api_server.CLOUDPREFS_API, api_server.UWSGI)


@pytest.fixture
def user():
    return 'user-' + uuid.uuid4().hex


class Client:
    """Requests as one user; bodies are sent as raw bytes or JSON text."""

    def __init__(self, api, user_id):
        self.api = api
        self.headers = {'X-User-Id': user_id}

    def request(self, method, path, body=None, headers=None):
        all_headers = dict(self.headers, **(headers or {}))
        if isinstance(body, str):
            body = body.encode('utf-8')
        return requests.request(method, self.api.url(path), data=body,
                                headers=all_headers, timeout=30)

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request('POST', path, body, **kwargs)

    def post_json(self, path, value):
        return self.post(path, json.dumps(value))

    def delete(self, path, **kwargs):
        return self.request('DELETE', path, **kwargs)


@pytest.fixture
def client(api, user):
    return Client(api, user)


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers['Content-Type'].startswith('application/json')
    errors = response.json()['errors']
    assert len(errors) == 1
    error = errors[0]
    assert error['status'] == status
    assert error['code'] == code
    assert error['title'] and error['detail']
    assert error['request_id'].startswith('req-')
    assert response.headers['X-Openstack-Request-Id'] == error['request_id']
    return error


# The original product's README, under /v1 ------------------------------------

def test_seed_examples(client):
    assert client.post('/v1/defaults').status_code == 204
    response = client.post('/v1/defaults',
                           '{"build_config": ["monitoring", "backup"]}')
    assert response.status_code == 204 and response.content == b''
    assert client.post('/v1/defaults/build_config',
                       '["monitoring", "backup"]').status_code == 204
    assert client.post('/v1/defaults/passwords/root',
                       '"secretpassword"').status_code == 204

    response = client.get('/v1')
    assert response.status_code == 200
    assert response.headers['Content-Type'] == 'application/json'
    assert response.json() == ['defaults']

    assert client.get('/v1/defaults').json() == {
        'build_config': ['monitoring', 'backup'],
        'passwords': {'root': 'secretpassword'}}
    assert client.get('/v1/defaults/build_config').json() == [
        'monitoring', 'backup']
    assert client.get('/v1/defaults/passwords/root').json() == (
        'secretpassword')

    assert client.delete('/v1/defaults/build_options').status_code == 204
    assert client.delete('/v1/defaults/ssh_keys/root').status_code == 204
    assert client.delete('/v1/defaults/passwords/root').status_code == 204
    assert client.get('/v1/defaults').json() == {
        'build_config': ['monitoring', 'backup'], 'passwords': {}}
    assert client.delete('/v1/defaults').status_code == 204
    assert_error(client.get('/v1/defaults'), 404, 'cloudprefs.not_found')

    client.post('/v1/one')
    client.post('/v1/two')
    assert client.delete('/v1').status_code == 204
    assert client.get('/v1').json() == []


# Writes and reads ------------------------------------------------------------

def test_merge_replaces_given_top_level_keys(client):
    client.post_json('/v1/c', {'a': {'x': 1}, 'b': 1})
    client.post_json('/v1/c', {'a': {'y': 2}})
    assert client.get('/v1/c').json() == {'a': {'y': 2}, 'b': 1}


def test_put_replaces_the_whole_container(client):
    client.post_json('/v1/c', {'a': {'x': 1}, 'b': 1})
    response = client.request('PUT', '/v1/c', json.dumps({'a': {'y': None}}))
    assert response.status_code == 204, response.text
    assert client.get('/v1/c').json() == {'a': {'y': None}}
    assert client.get('/v1/c').headers['ETag'] == response.headers['ETag']
    created = client.request('PUT', '/v1/new', '{}')
    assert created.status_code == 204
    assert client.get('/v1/new').json() == {}


def test_put_is_conditional(client):
    etag = client.request('PUT', '/v1/c', '{"a": 1}').headers['ETag']
    assert_error(client.request('PUT', '/v1/c', '{"a": 2}',
                                headers={'If-None-Match': '*'}),
                 412, 'cloudprefs.precondition_failed')
    assert_error(client.request('PUT', '/v1/c', '{"a": 3}',
                                headers={'If-Match': '"0"'}),
                 412, 'cloudprefs.precondition_failed')
    assert client.get('/v1/c').json() == {'a': 1}
    assert client.request('PUT', '/v1/c', '{"a": 4}',
                          headers={'If-Match': etag}).status_code == 204
    assert client.get('/v1/c').json() == {'a': 4}


@pytest.mark.parametrize('body', ['', '[]', '1', 'null'])
def test_put_needs_an_object(client, body):
    client.post_json('/v1/c', {'a': 1})
    response = client.request('PUT', '/v1/c', body)
    code = ('cloudprefs.empty_body' if not body
            else 'cloudprefs.not_an_object')
    assert_error(response, 400, code)
    assert client.get('/v1/c').json() == {'a': 1}


def test_empty_post_leaves_existing_container_unchanged(client):
    client.post_json('/v1/c', {'a': 1})
    assert client.post('/v1/c').status_code == 204
    assert client.get('/v1/c').json() == {'a': 1}


@pytest.mark.parametrize('body', ['[]', '1', '"x"', 'null', 'true', '[{}]'])
def test_container_body_must_be_an_object(client, body):
    assert_error(client.post('/v1/c', body), 400, 'cloudprefs.not_an_object')
    assert_error(client.get('/v1/c'), 404, 'cloudprefs.not_found')


@pytest.mark.parametrize('value', [None, False, 0, '', {}, [], 0.5,
                                   -9223372036854775808, 'é🦄'])
def test_any_json_value_at_a_path(client, value):
    assert client.post_json('/v1/c/k', value).status_code == 204
    response = client.get('/v1/c/k')
    assert response.status_code == 200
    assert json.dumps(response.json()) == json.dumps(value)


def test_set_path_through_non_object_conflicts(client):
    client.post_json('/v1/c', {'list': [1], 'text': 's', 'null': None})
    for path in ('/v1/c/list/0', '/v1/c/text/x', '/v1/c/null/x/y'):
        assert_error(client.post(path, '1'), 409, 'cloudprefs.path_conflict')
    assert client.get('/v1/c').json() == {'list': [1], 'text': 's',
                                          'null': None}


def test_path_post_needs_a_body(client):
    assert_error(client.post('/v1/c/k'), 400, 'cloudprefs.empty_body')
    assert_error(client.get('/v1/c'), 404, 'cloudprefs.not_found')


@pytest.mark.parametrize('path', ['/v1/missing', '/v1/c/missing',
                                  '/v1/c/a/missing', '/v1/c/s/x'])
def test_missing_is_404(client, path):
    client.post_json('/v1/c', {'a': {}, 's': 'str'})
    assert_error(client.get(path), 404, 'cloudprefs.not_found')


def test_deleting_what_does_not_exist_is_204(client):
    for path in ('/v1', '/v1/missing', '/v1/missing/k', '/v1/missing/k/j'):
        assert client.delete(path).status_code == 204
    assert client.get('/v1').json() == []


# Names and paths -------------------------------------------------------------

def test_encoded_slash_stays_inside_a_name(client):
    assert client.post('/v1/a%2Fb/x%2Fy', '1').status_code == 204
    assert client.post('/v1/a/b', '2').status_code == 204
    assert client.get('/v1').json() == ['a', 'a/b']
    assert client.get('/v1/a%2Fb').json() == {'x/y': 1}
    assert client.get('/v1/a').json() == {'b': 2}


def test_odd_names_round_trip(client):
    names = ['.a', '$cmd', 'system.users', 'a.b', '%', 'é', '🦄', 'a b',
             "x'; DROP TABLE containers; --", 'A', 'a', '~']
    for name in names:
        quoted = requests.utils.quote(name, safe='')
        assert client.post_json('/v1/%s/%s' % (quoted, quoted),
                                name).status_code == 204
    assert client.get('/v1').json() == sorted(names)
    for name in names:
        quoted = requests.utils.quote(name, safe='')
        assert client.get('/v1/%s/%s' % (quoted, quoted)).json() == name


def test_trailing_slash_is_ignored(client):
    assert client.post('/v1/c/', '{"a": {"b": 1}}').status_code == 204
    assert client.get('/v1/c/a/').json() == {'b': 1}
    assert client.get('/v1/').json() == ['c']


class RawResponse:
    """Enough of a requests.Response for assert_error."""

    def __init__(self, response):
        self.status_code = response.status
        self.headers = response.headers
        self.text = response.read().decode('utf-8')

    def json(self):
        return json.loads(self.text)


def raw_request(api, method, path, headers, body=b''):
    """Send ``path`` exactly as given (requests would resolve dot
    segments before sending them)."""
    connection = http.client.HTTPConnection('127.0.0.1', api.port,
                                            timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        return RawResponse(connection.getresponse())
    finally:
        connection.close()


@pytest.mark.parametrize('path', [
    '/v1/c//k', '/v1//c', '/v1/c/k//', '/v1/./k', '/v1/c/..', '/v1/c/%2E',
    '/v1/c/%2e%2E/k', '/v1/c/a%00b', '/v1/%FF', '/v1/c/%C3',
    '/v1/' + 'x' * 256, '/v1/c/' + '%C3%A9' * 128])
def test_bad_paths_are_400(api, client, path):
    for method in ('GET', 'POST', 'DELETE'):
        response = raw_request(api, method, path, client.headers, b'1')
        assert_error(response, 400, 'cloudprefs.invalid_path')


def test_longest_segment_is_accepted(client):
    name = 'é' * 127 + 'x'      # 255 bytes
    quoted = requests.utils.quote(name, safe='')
    assert client.post('/v1/%s/%s' % (quoted, quoted), '1').status_code == 204
    assert client.get('/v1').json() == [name]


def test_other_methods_are_405_with_allow(client):
    for method, path, allow in (
            ('PUT', '/v1', 'DELETE, GET, HEAD'),
            ('PATCH', '/v1', 'DELETE, GET, HEAD'),
            ('TRACE', '/v1/c', 'DELETE, GET, HEAD, PATCH, POST, PUT'),
            ('PUT', '/v1/c/k', 'DELETE, GET, HEAD, PATCH, POST'),
            ('TRACE', '/v1/c/k', 'DELETE, GET, HEAD, PATCH, POST')):
        response = client.request(method, path)
        assert_error(response, 405, 'cloudprefs.method_not_allowed')
        assert response.headers['Allow'] == allow


def test_request_line_over_8k_is_414(client):
    response = client.get('/v1/c/' + 'k' * 9000)
    assert response.status_code == 414


# Bodies ----------------------------------------------------------------------

@pytest.mark.parametrize('body', [
    b'{', b'{"a": }', b"{'a': 1}", b'{"a": NaN}', b'{"a": Infinity}',
    b'[-Infinity]', b'{"a": 1e400}', b'"\\ud800"', b'{"\\udc00": 1}',
    b'{"a": 1, "a": 2}', b'{"x": {"b": 1, "b": 1}}', b'9223372036854775808',
    b'[-9223372036854775809]', b'"\xff"', b'{"a": "\xc3"}', b'\xef\xbb\xbf{}',
    b'[' * 100000, b'1' * 5000])
def test_invalid_json_is_400(client, body):
    assert_error(client.post('/v1/c/k', body), 400,
                 'cloudprefs.invalid_json')
    assert_error(client.get('/v1/c'), 404, 'cloudprefs.not_found')


def test_valid_surrogate_pair_is_accepted(client):
    assert client.post('/v1/c/k', '"\\ud83e\\udd84"').status_code == 204
    assert client.get('/v1/c/k').json() == '🦄'


def test_content_type_is_ignored(client):
    response = client.post('/v1/c/k', '{"a": 1}',
                           headers={'Content-Type': 'text/plain'})
    assert response.status_code == 204
    assert client.get('/v1/c/k/a').json() == 1


def test_depth_limit_counts_path_and_value(client):
    # 30 path segments + 2 levels of value = 32: allowed; one more is not.
    path = '/v1/c/' + '/'.join('k' * 30)
    assert client.post(path, '{"a": [1]}').status_code == 204
    assert_error(client.post(path, '{"a": [[1]]}'), 400,
                 'cloudprefs.too_deep')
    assert client.post('/v1/d', json.dumps(
        {'a': [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    )).status_code == 204
    assert_error(client.post('/v1/d', json.dumps(
        {'a': json.loads('[' * 32 + '1' + ']' * 32)}
    )), 400, 'cloudprefs.too_deep')


def test_body_over_limit_is_413(client, server_kind):
    limit = int(TEST_LIMITS['max_request_body_size'])
    big = json.dumps('x' * limit)
    assert_error(client.post('/v1/c/k', big), 413, 'cloudprefs.body_too_large')
    chunks = (part.encode() for part in (big[:10], big[10:]))
    response = requests.post(client.api.url('/v1/c/k'), data=chunks,
                             headers=client.headers, timeout=30)
    if server_kind == api_server.UWSGI:
        # uwsgi gives the application no chunked body (see below).
        assert_error(response, 411, 'cloudprefs.length_required')
    else:
        assert_error(response, 413, 'cloudprefs.body_too_large')
    assert_error(client.get('/v1/c'), 404, 'cloudprefs.not_found')


def test_refused_bodies_get_their_answer_under_load(client):
    # Refused without being read, a body used to reach uwsgi's worker
    # after it had closed the connection: the reset that followed cut the
    # client off before it read its 413 (8% of such requests from 16
    # threads). The body is read and thrown away first, as cloudprefs-api
    # does.
    too_large = json.dumps('x' * int(TEST_LIMITS['max_request_body_size']))
    not_found = json.dumps({'k': 'x' * 64 * 1024})

    def refused(number):
        path, body, status = (('/v1/c/k', too_large, 413) if number % 2
                              else ('/v1/c/k/%00', not_found, 400))
        try:
            return client.post(path, body).status_code == status
        except requests.ConnectionError:
            return False

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answered = sum(pool.map(refused, range(400)))
    assert answered == 400
    assert_error(client.get('/v1/c'), 404, 'cloudprefs.not_found')


def test_a_browser_may_watch_follow_and_ask_for_a_version(client):
    preflight = client.request('OPTIONS', '/v1/c', headers={
        'Origin': BROWSER_ORIGIN, 'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers':
            'prefer,if-match,if-none-match,openstack-api-version'})
    assert preflight.headers['Access-Control-Allow-Origin'] == BROWSER_ORIGIN
    allowed = preflight.headers['Access-Control-Allow-Headers'].lower()
    for header in ('prefer', 'if-match', 'if-none-match',
                   'openstack-api-version'):
        assert header in allowed
    response = client.get('/v1?since=0', headers={'Origin': BROWSER_ORIGIN})
    assert response.status_code == 200
    exposed = response.headers['Access-Control-Expose-Headers'].lower()
    for header in ('x-cursor', 'etag', 'openstack-api-version'):
        assert header in exposed
    other = client.request('OPTIONS', '/v1/c', headers={
        'Origin': 'https://elsewhere.example',
        'Access-Control-Request-Method': 'GET'})
    assert 'Access-Control-Allow-Origin' not in other.headers


def test_chunked_body_is_read(client, server_kind):
    chunks = (part for part in (b'{"a":', b' [1, 2]}'))
    response = requests.post(client.api.url('/v1/c'), data=chunks,
                             headers=client.headers, timeout=30)
    if server_kind == api_server.UWSGI:
        # uwsgi's HTTP router passes on no byte of a chunked body: refused,
        # rather than taken for an empty one.
        assert_error(response, 411, 'cloudprefs.length_required')
        assert_error(client.get('/v1/c'), 404, 'cloudprefs.not_found')
        return
    assert response.status_code == 204
    assert client.get('/v1/c').json() == {'a': [1, 2]}


def test_container_over_limit_is_413_and_nothing_stored(client):
    limit = int(TEST_LIMITS['max_container_size'])
    piece = 'x' * (limit // 3)
    assert client.post_json('/v1/c/a', piece).status_code == 204
    assert client.post_json('/v1/c/b', piece).status_code == 204
    assert_error(client.post_json('/v1/c/c', piece), 413,
                 'cloudprefs.container_too_large')
    assert sorted(client.get('/v1/c').json()) == ['a', 'b']


# Identity and isolation ------------------------------------------------------

@pytest.mark.parametrize('headers', [{}, {'X-User-Id': ''},
                                     {'X-User-Id': 'x' * 256},
                                     {'X-User-Id': 'a\tb'},
                                     {'X-User-Id': b'\xff'}])
def test_missing_or_bad_identity_is_401(api, headers):
    for method, path in (('GET', '/v1'), ('POST', '/v1/c'),
                         ('DELETE', '/v1')):
        response = requests.request(method, api.url(path), headers=headers,
                                    timeout=10)
        assert_error(response, 401, 'cloudprefs.unauthenticated')


def test_users_cannot_reach_each_others_data(api, user):
    alice = Client(api, user)
    others = [Client(api, user + suffix)
              for suffix in ('x', ' x', '.a', '$', "'", '%', '\\')]
    others.append(Client(api, user[:-1]))
    alice.post_json('/v1/secret', {'pin': 1234})
    for other in others:
        assert other.get('/v1').json() == []
        assert_error(other.get('/v1/secret'), 404, 'cloudprefs.not_found')
        assert other.post_json('/v1/secret/pin', 0).status_code == 204
        assert other.delete('/v1/secret/pin').status_code == 204
        assert other.delete('/v1/secret').status_code == 204
        assert other.delete('/v1').status_code == 204
    assert alice.get('/v1/secret').json() == {'pin': 1234}
    assert alice.get('/v1').json() == ['secret']


def test_non_ascii_user_id(api):
    client = Client(api, 'ü')
    client.headers['X-User-Id'] = 'ü'.encode('utf-8')
    assert client.post('/v1/c/k', '1').status_code == 204
    assert client.get('/v1/c/k').json() == 1


# Around the API --------------------------------------------------------------

def test_version_document_needs_no_auth(api):
    response = requests.get(api.url('/'), timeout=10)
    assert response.status_code == 200
    version = response.json()['versions'][0]
    assert version['id'] == 'v1.0' and version['status'] == 'CURRENT'
    assert version['links'][0]['href'] == api.url('/v1/')


def test_healthcheck_reports_database(api):
    response = requests.get(api.url('/healthcheck'), timeout=10,
                            headers={'Accept': 'application/json'})
    assert response.status_code == 200
    assert 'OK' in response.text


def test_unknown_top_level_path_is_json_404(api):
    assert_error(requests.get(api.url('/v2/c'), timeout=10), 404,
                 'cloudprefs.not_found')
