"""What the client sends and when it sends again, seen by a real HTTP
server in the test (no deployment needed)."""

import http.server
import json
import sys
import threading

import pytest
from keystoneauth1 import session as ksa_session

import cloudprefsclient
from cloudprefsclient import client
from cloudprefsclient import exceptions

VERSIONS = {'versions': [{'id': 'v1.0', 'status': 'CURRENT',
                          'links': [{'rel': 'self', 'href': None}]}]}


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers the version document at /, and at /v1... what the test
    queued (status, headers, body), recording every request."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        server = self.server
        server.requests.append((self.command, self.path,
                                dict(self.headers), body))
        if self.path in ('/', ''):
            document = json.loads(json.dumps(VERSIONS))
            document['versions'][0]['links'][0]['href'] = (
                'http://127.0.0.1:%d/v1/' % server.server_port)
            status, headers, payload = 200, {}, json.dumps(document)
        else:
            status, headers, payload = server.answers.pop(0)
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(status)
        headers.setdefault('Content-Type', 'application/json')
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Recorder)
    server.requests, server.answers = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def make_client(recorder, **options):
    return client.Client(
        session=ksa_session.Session(),
        endpoint_override='http://127.0.0.1:%d' % recorder.server_port,
        connect_retries=0, **options)


def api_requests(recorder):
    return [request for request in recorder.requests if request[1] != '/']


def test_version_discovery_user_agent_and_request_id(recorder):
    recorder.answers.append((200, {'X-Openstack-Request-Id': 'req-1'},
                             '["a"]'))
    prefs = make_client(recorder,
                        global_request_id='req-0123abcd-0123-4567-89ab-'
                                          '0123456789ab')
    assert list(prefs.list()) == ['a']
    assert prefs.endpoint.endswith('/v1/')
    method, path, headers, _ = api_requests(recorder)[0]
    assert (method, path) == ('GET', '/v1/')
    assert headers['User-Agent'].startswith(
        'python-cloudprefsclient/%s' % cloudprefsclient.__version__)
    assert headers['X-OpenStack-Request-ID'].startswith('req-0123abcd')
    assert prefs.last_request_id == 'req-1'


def test_idempotent_requests_are_retried_after_503(recorder):
    busy = (503, {'Retry-After': '0'}, json.dumps({'errors': [{
        'status': 503, 'code': 'cloudprefs.backend_unavailable',
        'title': 'Service Unavailable', 'detail': 'later',
        'request_id': 'req-busy'}]}))
    recorder.answers.extend([busy, (200, {'ETag': '"7"'}, '{"a": 1}')])
    prefs = make_client(recorder)
    assert prefs.get_with_etag('c') == ({'a': 1}, '"7"')
    assert [r[0] for r in api_requests(recorder)] == ['GET', 'GET']


def test_post_and_patch_are_never_sent_twice(recorder):
    busy = (503, {}, json.dumps({'errors': [{
        'status': 503, 'code': 'cloudprefs.backend_unavailable',
        'title': 'Service Unavailable', 'detail': 'later',
        'request_id': 'req-busy'}]}))
    recorder.answers.extend([busy, busy])
    prefs = make_client(recorder)
    with pytest.raises(exceptions.ServiceUnavailable) as raised:
        prefs.merge('c', {'a': 1})
    assert raised.value.request_id == 'req-busy'
    assert raised.value.code == 'cloudprefs.backend_unavailable'
    with pytest.raises(exceptions.ServiceUnavailable):
        prefs.merge_patch('c', {'a': None})
    assert [r[0] for r in api_requests(recorder)] == ['POST', 'PATCH']


def test_bodies_headers_and_paths_on_the_wire(recorder):
    recorder.answers.extend([(204, {'ETag': '"2"'}, '')] * 3)
    prefs = make_client(recorder)
    assert prefs.set_value('c', 'a%2Fb/é', [1], if_match='1') == '"2"'
    prefs.merge_patch('c', {'x': None}, path=['k'], if_match='"1"')
    prefs.replace('c', {}, if_not_exists=True, user_id='u 1')
    first, second, third = api_requests(recorder)
    assert first[:2] == ('POST', '/v1/c/a%2Fb/%C3%A9')
    assert first[2]['If-Match'] == '"1"' and first[3] == b'[1]'
    assert second[:2] == ('PATCH', '/v1/c/k')
    assert second[2]['Content-Type'] == 'application/merge-patch+json'
    assert second[2]['If-Match'] == '"1"'
    assert third[:2] == ('PUT', '/v1/c?user_id=u+1')
    assert third[2]['If-None-Match'] == '*'


def test_an_error_that_is_not_the_services_format(recorder):
    recorder.answers.append((502, {'Content-Type': 'text/html'},
                             '<h1>Bad gateway</h1>'))
    prefs = make_client(recorder)
    with pytest.raises(exceptions.ClientError) as raised:
        prefs.merge('c', {})
    assert raised.value.status == 502
    assert raised.value.code is None
    assert 'Bad gateway' in str(raised.value)


class FakeTime:
    """The client's clock and sleep: sleeping moves the clock."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def _fake_time(prefs):
    fake = FakeTime()
    prefs._clock, prefs._sleep = fake.clock, fake.sleep
    return fake


def _page(changes=(), cursor='5'):
    return json.dumps({'changes': list(changes), 'cursor': cursor,
                       'more': False})


def test_a_poll_not_held_is_asked_again_after_retry_after(recorder):
    change = {'container': 'c', 'revision': '9', 'deleted': False}
    recorder.answers.extend([
        (200, {'Retry-After': '12', 'X-Cursor': '5'}, _page()),
        (200, {'X-Cursor': '6'}, _page([change], '6'))])
    prefs = make_client(recorder)
    fake = _fake_time(prefs)
    page = prefs.changes(since='5', wait=30)
    assert page.changes[0].container == 'c' and page.cursor == '6'
    assert fake.sleeps == [12]
    sent = [path for _, path, _, _ in api_requests(recorder)]
    # The second poll waits what is left of the 30 seconds.
    assert sent == ['/v1/?since=5&wait=30', '/v1/?since=5&wait=18']


def test_a_refused_poll_never_outlives_its_wait(recorder):
    refused = (200, {'Retry-After': '20', 'X-Cursor': '5'}, _page())
    recorder.answers.extend([refused, refused])
    prefs = make_client(recorder)
    fake = _fake_time(prefs)
    page = prefs.changes(since='5', wait=25)
    assert page.changes == [] and page.cursor == '5'
    assert fake.sleeps == [20, 5]
    assert len(api_requests(recorder)) == 2


def test_a_held_poll_that_ran_out_is_not_asked_again(recorder):
    recorder.answers.append((200, {'X-Cursor': '5'}, _page()))
    prefs = make_client(recorder)
    fake = _fake_time(prefs)
    assert prefs.changes(since='5', wait=30).changes == []
    assert fake.sleeps == [] and len(api_requests(recorder)) == 1


def test_a_watch_not_held_is_asked_again_after_retry_after(recorder):
    recorder.answers.extend([
        (304, {'Retry-After': '4', 'ETag': '"1"'}, ''),
        (200, {'ETag': '"2"'}, '{"a": 2}')])
    prefs = make_client(recorder)
    fake = _fake_time(prefs)
    assert prefs.watch('c', '"1"', wait=10) == ({'a': 2}, '"2"')
    assert fake.sleeps == [4]
    prefers = [headers['Prefer'] for _, _, headers, _ in
               api_requests(recorder)]
    assert prefers == ['wait=10', 'wait=6']


# Microversions -------------------------------------------------------------

@pytest.fixture
def service_versions(monkeypatch):
    """Set the microversion range the recorder's version document gives."""
    def serve(min_version=None, version=None):
        document = json.loads(json.dumps(VERSIONS))
        if version is not None:
            document['versions'][0].update(min_version=min_version,
                                           version=version)
        monkeypatch.setattr(sys.modules[__name__], 'VERSIONS', document)
    return serve


@pytest.mark.parametrize('served,asked', [
    (None, '1.0'),              # a service from before microversions
    ('1.1', '1.1'),
    ('1.9', client.API_MICROVERSIONS[-1]),     # newer than this client
])
def test_the_newest_version_both_have_is_asked_for(recorder,
                                                   service_versions,
                                                   served, asked):
    service_versions('1.0', served)
    recorder.answers.append((200, {}, '[]'))
    prefs = make_client(recorder)
    assert list(prefs.list()) == []
    headers = api_requests(recorder)[0][2]
    assert headers['OpenStack-API-Version'] == 'preferences ' + asked
    assert prefs.api_version == asked


def test_a_pinned_version_is_sent_and_bounds_the_calls(recorder,
                                                       service_versions):
    service_versions('1.0', '1.1')
    recorder.answers.append((204, {'ETag': '"3"'}, ''))
    prefs = make_client(recorder, api_version='1.0')
    with pytest.raises(exceptions.VersionNotAvailable, match='1.1'):
        prefs.json_patch('c', [{'op': 'remove', 'path': '/a'}])
    assert api_requests(recorder) == []
    prefs.merge('c', {})
    assert api_requests(recorder)[0][2]['OpenStack-API-Version'] == \
        'preferences 1.0'
    with pytest.raises(ValueError, match='newer client'):
        make_client(recorder, api_version='1.99')


def test_a_json_patch_on_the_wire(recorder, service_versions):
    service_versions('1.0', '1.1')
    operations = [{'op': 'test', 'path': '/a', 'value': 1},
                  {'op': 'replace', 'path': '/a', 'value': 2}]
    conflict = json.dumps({'errors': [{
        'status': 409, 'code': 'cloudprefs.patch_conflict',
        'title': 'Conflict', 'detail': 'Operation 0 ...',
        'request_id': 'req-c'}]})
    recorder.answers.extend([(204, {'ETag': '"5"'}, ''),
                             (409, {}, conflict)])
    prefs = make_client(recorder)
    assert prefs.json_patch('c', operations, if_match='4') == '"5"'
    method, path, headers, body = api_requests(recorder)[0]
    assert (method, path) == ('PATCH', '/v1/c')
    assert headers['Content-Type'] == 'application/json-patch+json'
    assert headers['OpenStack-API-Version'] == 'preferences 1.1'
    assert headers['If-Match'] == '"4"'
    assert json.loads(body) == operations
    with pytest.raises(exceptions.Conflict) as raised:
        prefs.json_patch('c', operations)
    assert raised.value.code == 'cloudprefs.patch_conflict'
    # PATCH is never sent twice behind the caller's back.
    assert len(api_requests(recorder)) == 2


def test_a_detailed_listing_reads_page_after_page(recorder,
                                                  service_versions):
    service_versions('1.0', '1.2')
    first = [{'name': 'a', 'bytes': 2, 'etag': '"1"',
              'last_modified': '2026-12-07T19:00:00.000001Z'},
             {'name': 'b', 'bytes': 7, 'etag': '"2"',
              'last_modified': '2026-12-07T19:00:00.000002Z'}]
    second = [{'name': 'c', 'bytes': 9, 'etag': '"3"',
               'last_modified': '2026-12-07T19:00:00.000003Z'}]
    recorder.answers.extend([
        (200, {'Link': '</v1?detail=true&limit=2&marker=b>; rel="next"'},
         json.dumps(first)),
        (200, {}, json.dumps(second))])
    prefs = make_client(recorder)
    details = list(prefs.list_details(page_size=2))
    assert [detail.name for detail in details] == ['a', 'b', 'c']
    assert details[1] == client.Detail('b', 7, '"2"',
                                       '2026-12-07T19:00:00.000002Z')
    paths = [request[1] for request in api_requests(recorder)]
    assert paths == ['/v1/?detail=true&limit=2',
                     '/v1/?detail=true&marker=b&limit=2']
    old = make_client(recorder, api_version='1.1')
    with pytest.raises(exceptions.VersionNotAvailable):
        old.list_details()


def test_expiry_on_the_wire(recorder, service_versions):
    service_versions('1.0', '1.3')
    recorder.answers.extend([(204, {'ETag': '"1"'}, '')] * 3 + [
        (200, {'ETag': '"1"',
               'X-Delete-At': '1800000000'}, '')])
    prefs = make_client(recorder)
    prefs.merge('c', {}, expiry=client.Expiry.at(1800000000))
    prefs.set_value('c', 'k', 1, expiry=client.Expiry.after(60))
    prefs.json_patch('c', [], expiry=client.Expiry.NEVER)
    assert prefs.stat('c').delete_at == 1800000000
    sent = [request[2] for request in api_requests(recorder)]
    assert sent[0]['X-Delete-At'] == '1800000000'
    assert sent[1]['X-Delete-After'] == '60'
    assert sent[2]['X-Remove-Delete-At'] == '1'
    assert all(headers['OpenStack-API-Version'] == 'preferences 1.3'
               for headers in sent)
    old = make_client(recorder, api_version='1.2')
    with pytest.raises(exceptions.VersionNotAvailable, match='1.3'):
        old.merge('c', {}, expiry=client.Expiry.after(60))


def test_layers_on_the_wire(recorder, service_versions):
    service_versions('1.0', '1.4')
    recorder.answers.extend([
        (204, {'ETag': '"1"'}, ''), (200, {'ETag': '"2"'}, '{"a": 1}'),
        (200, {}, '["x"]'), (200, {'ETag': '"m1"'}, '{"a": 2}'),
        (200, {}, '["x", "y"]'), (204, {}, '')])
    prefs = make_client(recorder)
    prefs.scoped('project').merge('c', {'a': 1})
    assert prefs.scoped('domain', domain_id='d').get('c') == {'a': 1}
    assert list(prefs.scoped('cloud').list()) == ['x']
    assert prefs.get('c', effective=True) == {'a': 2}
    assert list(prefs.list(effective=True)) == ['x', 'y']
    prefs.scoped('project', project_id='p').delete_all()
    sent = [(request[0], request[1]) for request in api_requests(recorder)]
    assert sent == [('POST', '/v1/c?scope=project'),
                    ('GET', '/v1/c?scope=domain&domain_id=d'),
                    ('GET', '/v1/?scope=cloud'),
                    ('GET', '/v1/c?effective=true'),
                    ('GET', '/v1/?effective=true'),
                    ('DELETE', '/v1/?scope=project&project_id=p')]
    # The unscoped client is unchanged by the scoped ones.
    assert prefs._scope_query == {}
    with pytest.raises(ValueError):
        prefs.scoped('team')
    with pytest.raises(ValueError):
        prefs.scoped('cloud', project_id='p')
    old = make_client(recorder, api_version='1.3')
    with pytest.raises(exceptions.VersionNotAvailable, match='1.4'):
        old.scoped('project').get('c')
    with pytest.raises(exceptions.VersionNotAvailable, match='1.4'):
        old.get('c', effective=True)
