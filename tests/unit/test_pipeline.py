"""The paste pipeline in process: filters, error format, route table."""

import json
import logging

import pytest
import webob

from cloudprefs.api import deploy
from cloudprefs.api import errors
from cloudprefs.api.middleware import catch_errors
from cloudprefs.api.middleware import keystone
from cloudprefs.api.middleware import noauth
from cloudprefs.api import routes
from cloudprefs.service import startup
from cloudprefs import storage


def call(app, method, path, user='u', body=b'', headers=None):
    request = webob.Request.blank(path, method=method, body=body,
                                  headers=headers or {})
    if user is not None:
        request.headers['X-User-Id'] = user
    return request.get_response(app)


def test_packaged_paste_file_is_the_etc_one(conf):
    with open(deploy.PACKAGED_PASTE_FILE) as packaged, \
            open('etc/cloudprefs/api-paste.ini') as shipped:
        assert packaged.read() == shipped.read()
    assert deploy.find_paste_file(conf) == deploy.PACKAGED_PASTE_FILE


def test_catch_errors_hides_the_exception(caplog):
    def broken_app(environ, start_response):
        environ[errors.REQUEST_ID_KEY] = 'req-1234'
        raise RuntimeError('password=hunter2 at db.example')

    app = catch_errors.filter_factory({})(broken_app)
    with caplog.at_level(logging.ERROR):
        response = webob.Request.blank('/v1/c').get_response(app)
    assert response.status_int == 500
    assert b'hunter2' not in response.body
    error = response.json['errors'][0]
    assert error['code'] == 'cloudprefs.internal_error'
    assert error['request_id'] == 'req-1234'
    assert response.headers['X-Openstack-Request-Id'] == 'req-1234'
    assert 'req-1234' in caplog.text and 'hunter2' in caplog.text


def test_storage_failure_inside_pipeline_is_500_json(conf, app, monkeypatch):
    def explode(*args):
        raise KeyError('internal detail')

    driver = storage.get_driver(conf)
    monkeypatch.setattr(driver, 'list_containers', explode)
    response = call(app, 'GET', '/v1')
    assert response.status_int == 500
    assert b'internal detail' not in response.body
    assert response.json['errors'][0]['request_id'].startswith('req-')


def test_error_format(app):
    response = call(app, 'GET', '/v1/missing')
    assert response.status_int == 404
    assert response.content_type == 'application/json'
    assert set(response.json['errors'][0]) == {
        'status', 'code', 'title', 'detail', 'request_id'}


def test_every_route_serves_methods_with_handlers():
    assert set(routes.ROUTE_DECLARATIONS) == {'/', '/{container}',
                                              '/{container}/*key_path'}
    for methods in routes.ROUTE_DECLARATIONS.values():
        assert methods and set(methods) <= {'GET', 'POST', 'PUT', 'PATCH',
                                            'DELETE'}
        assert all(callable(handler) for handler in methods.values())


def test_cors_preflight_allows_configured_origin(conf, app):
    conf.set_override('allowed_origin', ['https://app.example'],
                      group='cors')
    app = deploy.load_app(conf)
    response = call(app, 'OPTIONS', '/v1/c', user=None, headers={
        'Origin': 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-user-id,content-type'})
    assert response.headers['Access-Control-Allow-Origin'] == (
        'https://app.example')
    response = call(app, 'OPTIONS', '/v1/c', user=None, headers={
        'Origin': 'https://app.example',
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers':
            'if-match,if-none-match,content-type,x-auth-token,prefer'})
    assert response.headers['Access-Control-Allow-Methods'] == 'PATCH'
    allowed = response.headers['Access-Control-Allow-Headers'].lower()
    # Prefer: a browser can watch a container (Prefer: wait=).
    for header in ('if-match', 'if-none-match', 'content-type',
                   'x-auth-token', 'prefer'):
        assert header in allowed
    response = call(app, 'GET', '/v1', headers={
        'Origin': 'https://app.example'})
    exposed = response.headers['Access-Control-Expose-Headers']
    # X-Cursor: a browser can follow the change feed.
    for header in ('ETag', 'Last-Modified', 'Link', 'X-Container-Count',
                   'X-Bytes-Used', 'X-Openstack-Request-Id', 'X-Cursor'):
        assert header in exposed


def test_every_response_has_one_request_id(app):
    for method, path in (('GET', '/v1'), ('GET', '/v1/missing'),
                         ('POST', '/v1/c/k'), ('PUT', '/v1/c')):
        response = call(app, method, path, body=b'1')
        request_ids = [value for name, value in response.headerlist
                       if name.lower() == 'x-openstack-request-id']
        assert len(request_ids) == 1
        assert request_ids[0].startswith('req-')
    first = call(app, 'GET', '/v1').headers['X-Openstack-Request-Id']
    assert call(app, 'GET', '/v1').headers['X-Openstack-Request-Id'] != first


@pytest.mark.parametrize('inbound, kept', [
    ('req-0123abcd-0123-4567-89ab-0123456789ab', True),
    ('req-not-an-id', False), ('0123abcd-0123-4567-89ab-0123456789ab', False),
])
def test_inbound_request_id_becomes_the_global_id(inbound, kept):
    from cloudprefs.api.middleware import oslo
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        start_response('204 No Content', [])
        return [b'']

    app = oslo.request_id_filter_factory({})(inner)
    response = webob.Request.blank('/', headers={
        'X-Openstack-Request-Id': inbound}).get_response(app)
    assert seen.get('openstack.global_request_id') == (inbound if kept
                                                       else None)
    assert response.headers['X-Openstack-Request-Id'] == (
        seen['openstack.request_id'])
    assert seen['openstack.request_id'] != inbound


def test_cors_leaves_requests_without_origin_alone(conf, app):
    conf.set_override('allowed_origin', ['https://app.example'],
                      group='cors')
    response = call(deploy.load_app(conf), 'GET', '/v1')
    assert response.status_int == 200
    assert not [name for name in response.headers
                if name.lower().startswith('access-control-')]


@pytest.mark.parametrize('parsing, scheme', [(True, 'https'),
                                             (False, 'http')])
def test_proxy_headers_are_parsed_only_when_enabled(conf, parsing, scheme):
    app = deploy.load_app(conf)    # registers [oslo_middleware]
    conf.set_override('enable_proxy_headers_parsing', parsing,
                      group='oslo_middleware')
    call(app, 'POST', '/v1/a', body=b'{}')
    call(app, 'POST', '/v1/b', body=b'{}')
    response = call(app, 'GET', '/v1?limit=1', headers={
        'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'api.example'})
    link = response.headers['Link']
    assert link.startswith('<%s://%s/v1?' % (
        scheme, 'api.example' if parsing else 'localhost'))


@pytest.mark.parametrize('header, user_id', [
    ('alice', 'alice'), ('ü'.encode().decode('latin-1'), 'ü'),
    ('x' * 255, 'x' * 255), ('a b', 'a b'),
    (None, None), ('', None), ('x' * 256, None), ('a\tb', None),
    ('\x7f', None), ('\xff', None),
])
def test_noauth_user_id(header, user_id):
    assert noauth.user_id_from_header(header) == user_id


def test_keystone_context_trusts_only_confirmed_identity():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return webob.Response()(environ, start_response)

    middleware = keystone.KeystoneContext(app, 'http://keystone/v3')
    forged = {'X-User-Id': 'victim', 'X-Roles': 'admin',
              'X-Identity-Status': 'Invalid'}
    response = webob.Request.blank('/', headers=forged).get_response(
        middleware)
    assert response.status_int == 401
    assert response.headers['WWW-Authenticate'] == (
        'Keystone uri="http://keystone/v3"')
    assert response.json['errors'][0]['code'] == 'cloudprefs.unauthenticated'
    assert not seen

    confirmed = {'X-User-Id': 'alice', 'X-Roles': 'member,reader',
                 'X-Identity-Status': 'Confirmed'}
    response = webob.Request.blank('/', headers=confirmed).get_response(
        middleware)
    assert response.status_int == 200
    context = seen['cloudprefs.context']
    assert context.user_id == 'alice'
    assert context.roles == ['member', 'reader']


def test_keystone_strategy_needs_authtoken_settings(tmp_path):
    conf = startup.prepare_conf([], default_config_files=[],
                                command_line=False)
    with pytest.raises(startup.ConfigurationError) as caught:
        startup.check_auth_strategy(conf)
    assert 'noauth' in str(caught.value)
    conf_file = tmp_path / 'cloudprefs.conf'
    conf_file.write_text(
        '[keystone_authtoken]\nauth_type = password\n'
        'auth_url = http://127.0.0.1:5000/v3\nusername = cloudprefs\n'
        'password = secret\nproject_name = service\n'
        'user_domain_name = Default\nproject_domain_name = Default\n'
        'www_authenticate_uri = http://127.0.0.1:5000/v3\n')
    conf = startup.prepare_conf(['--config-file', str(conf_file)],
                                command_line=False)
    startup.check_auth_strategy(conf)


def test_keystone_pipeline_answers_401_without_token(tmp_path):
    conf_file = tmp_path / 'cloudprefs.conf'
    conf_file.write_text(
        '[DEFAULT]\nstate_path = %s\n[keystone_authtoken]\n'
        'auth_type = password\nauth_url = http://127.0.0.1:9/v3\n'
        'username = u\npassword = p\nproject_name = service\n'
        'user_domain_name = Default\nproject_domain_name = Default\n'
        'www_authenticate_uri = http://127.0.0.1:9/v3\n' % tmp_path)
    conf = startup.prepare_conf(['--config-file', str(conf_file)],
                                command_line=False)
    app = deploy.load_app(conf)
    response = call(app, 'GET', '/v1', user='forged')
    assert response.status_int == 401
    assert response.headers['WWW-Authenticate'].startswith('Keystone uri=')
    assert json.loads(response.body)['errors'][0]['code'] == (
        'cloudprefs.unauthenticated')
    storage.close_drivers()


def test_mongodb_flag_builds_url():
    assert startup.mongodb_url('10.0.0.1:27017, 10.0.0.2', 'prefs') == (
        'mongodb://10.0.0.1:27017,10.0.0.2/prefs')
    with pytest.raises(startup.ConfigurationError):
        startup.mongodb_url(' , ', 'prefs')


def test_every_storage_refusal_has_an_answer():
    """Each storage exception a client can cause is in the table of
    refusals; the database failures are not (they are 503)."""
    from cloudprefs.api import storage_errors
    from cloudprefs.storage import exceptions
    failures = {exceptions.StorageError, exceptions.BackendUnavailable,
                exceptions.BackendError, exceptions.TransientError,
                exceptions.SchemaNotReady}
    refusals = {cls for cls in vars(exceptions).values()
                if isinstance(cls, type)
                and issubclass(cls, exceptions.StorageError)} - failures
    assert refusals == set(storage_errors.REFUSALS)
    assert storage_errors.refusal(
        exceptions.BackendUnavailable('down')) is None
    precondition = storage_errors.refusal(exceptions.RevisionMismatch(7))
    assert (precondition.status, precondition.headers) == (
        412, {'ETag': '"7"'})
