"""AuthProtocol's reuse of auth_token's answers, against auth_token itself.

The token data comes from a fake in place of auth_token's cache and
Keystone (functional tests use the real ones); everything else is
keystonemiddleware's own code.
"""

import copy
import datetime
import time

from keystonemiddleware import auth_token
from oslo_config import cfg
import pytest
import webob

from cloudprefs.api.middleware import keystone
from cloudprefs.api.middleware import known_tokens
from cloudprefs.conf import keystone_authtoken

KEYSTONE_URL = 'http://keystone.example/v3'


def token_data(scope='project', roles=('reader', 'member'), expires_in=3600,
               catalog=False, admin_project=False, access_rules=None):
    now = datetime.datetime.now(datetime.timezone.utc)

    def stamp(moment):
        return moment.strftime('%Y-%m-%dT%H:%M:%S.%f') + 'Z'
    token = {
        'methods': ['password'], 'audit_ids': ['audit-1'],
        'user': {'id': 'user-1', 'name': 'alice',
                 'domain': {'id': 'default', 'name': 'Default'},
                 'password_expires_at': None},
        'roles': [{'id': 'role-' + name, 'name': name} for name in roles],
        'issued_at': stamp(now),
        'expires_at': stamp(now + datetime.timedelta(seconds=expires_in)),
    }
    if scope == 'project':
        token['project'] = {'id': 'project-1', 'name': 'demo',
                            'domain': {'id': 'default', 'name': 'Default'}}
        token['is_admin_project'] = admin_project
    elif scope == 'domain':
        token['domain'] = {'id': 'domain-1', 'name': 'things'}
    elif scope == 'system':
        token['system'] = {'all': True}
    if catalog:
        token['catalog'] = [{
            'type': 'identity', 'name': 'keystone', 'id': 'service-1',
            'endpoints': [{'id': 'endpoint-%s' % interface,
                           'interface': interface, 'region': 'RegionOne',
                           'region_id': 'RegionOne', 'url': KEYSTONE_URL}
                          for interface in ('public', 'internal', 'admin')]}]
    if access_rules is not None:
        token['application_credential'] = {
            'id': 'credential-1', 'name': 'c', 'restricted': True,
            'access_rules': access_rules}
    return {'token': token}


class FakeTokenSource(keystone.AuthProtocol):
    """AuthProtocol whose token data comes from ``self.tokens`` (a fresh
    copy on each fetch, as a decoded memcached entry is)."""

    def __init__(self, app, conf):
        self.tokens = {}
        self.fetched = []
        super().__init__(app, conf)

    def fetch_token(self, token, allow_expired=False):
        self.fetched.append(token)
        if token not in self.tokens:
            raise auth_token.InvalidToken('unknown token')
        return copy.deepcopy(self.tokens[token])


class Downstream:
    """The application behind auth_token: keeps what it was given."""

    def __init__(self, status='200 OK'):
        self.status = status
        self.environs = []

    def __call__(self, environ, start_response):
        self.environs.append(dict(environ))
        start_response(self.status, [('Content-Type', 'text/plain')])
        return [b'ok']


def make_protocol(include_service_catalog=None, status='200 OK'):
    conf = cfg.ConfigOpts()
    keystone_authtoken.register_opts(conf)
    conf([], default_config_files=[])
    if include_service_catalog is not None:
        conf.set_override('include_service_catalog',
                          include_service_catalog, 'keystone_authtoken')
    conf.set_override('www_authenticate_uri', KEYSTONE_URL,
                      'keystone_authtoken')
    downstream = Downstream(status)
    protocol = FakeTokenSource(downstream, {
        'oslo_config_config': conf, 'delay_auth_decision': True})
    return protocol, downstream


def send(protocol, token='token-1', headers=None):
    request = webob.Request.blank('/v1/c', headers=headers or {})
    if token is not None:
        request.headers['X-Auth-Token'] = token
    return request.get_response(protocol)


def identity_of(environ):
    """What auth_token decided, as the application sees it."""
    seen = {key: value for key, value in environ.items()
            if key in known_tokens.IDENTITY_ENVIRON_KEYS}
    seen['token_info'] = environ.get('keystone.token_info')
    seen['token_auth'] = type(environ.get('keystone.token_auth'))
    return seen


FORGED = {'X-User-Id': 'mallory', 'X-Roles': 'admin',
          'X-Project-Id': 'other', 'OpenStack-System-Scope': 'all',
          'X-Identity-Status': 'Confirmed', 'X-Is-Admin-Project': 'True',
          'X-Service-Catalog': '[]', 'X-Tenant-Id': 'other',
          'X-Service-Roles': 'service', 'X-Role': 'admin'}


@pytest.mark.parametrize('data,include_catalog', [
    (token_data(), None),
    (token_data(catalog=True), True),
    (token_data(catalog=True), False),
    (token_data(scope='system', roles=('admin', 'member', 'reader')), None),
    (token_data(scope='domain'), None),
    (token_data(scope=None), None),
    (token_data(admin_project=True, roles=('admin',)), None),
])
def test_a_known_token_gets_exactly_what_auth_token_gave(data,
                                                         include_catalog):
    protocol, downstream = make_protocol(include_catalog)
    protocol.tokens['token-1'] = data
    first = send(protocol, headers=FORGED)
    again = send(protocol)
    forged_again = send(protocol, headers=FORGED)
    assert [r.status_int for r in (first, again, forged_again)] == [200] * 3
    # auth_token answered the first request; the others came from memory.
    assert protocol.fetched == ['token-1']
    decided = identity_of(downstream.environs[0])
    assert decided['HTTP_X_IDENTITY_STATUS'] == 'Confirmed'
    assert decided['HTTP_X_USER_ID'] == 'user-1'
    for environ in downstream.environs[1:]:
        assert identity_of(environ) == decided
    # The catalog header only when asked for, and then the real one.
    catalog = decided.get('HTTP_X_SERVICE_CATALOG')
    if include_catalog:
        assert KEYSTONE_URL in catalog
    else:
        assert catalog is None


def test_no_catalog_header_by_default():
    protocol, downstream = make_protocol()
    protocol.tokens['token-1'] = token_data(catalog=True)
    send(protocol)
    send(protocol)
    for environ in downstream.environs:
        assert 'HTTP_X_SERVICE_CATALOG' not in environ


def test_expiry_is_checked_on_every_request():
    protocol, downstream = make_protocol()
    # A clock that stands still: the remembered identity never needs
    # checking again; only the expiry can end it.
    protocol._known_tokens.clock = Clock()
    protocol.tokens['token-1'] = token_data(expires_in=1)
    assert send(protocol).status_int == 200
    send(protocol)
    assert downstream.environs[-1]['HTTP_X_IDENTITY_STATUS'] == 'Confirmed'
    time.sleep(1.05)
    send(protocol)
    assert downstream.environs[-1]['HTTP_X_IDENTITY_STATUS'] == 'Invalid'
    assert 'HTTP_X_USER_ID' not in downstream.environs[-1]
    assert protocol._known_tokens.get('token-1') is None


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


def test_a_known_token_is_checked_again_after_check_seconds():
    protocol, downstream = make_protocol()
    clock = protocol._known_tokens.clock = Clock()
    protocol.tokens['token-1'] = token_data()
    send(protocol)
    send(protocol)
    assert protocol.fetched == ['token-1']
    clock.now += known_tokens.CHECK_SECONDS
    send(protocol)      # the same data in the cache: still known
    assert protocol.fetched == ['token-1'] * 2
    assert protocol._known_tokens.get('token-1') is not None
    # Keystone's answer changed (the entry was validated again): auth_token
    # answers, and its new answer is remembered.
    protocol.tokens['token-1'] = token_data(roles=('reader',))
    clock.now += known_tokens.CHECK_SECONDS
    send(protocol)
    assert downstream.environs[-1]['HTTP_X_ROLES'] == 'reader'
    send(protocol)
    assert downstream.environs[-1]['HTTP_X_ROLES'] == 'reader'
    # Revoked: gone from the cache, refused by Keystone.
    del protocol.tokens['token-1']
    clock.now += known_tokens.CHECK_SECONDS
    send(protocol)
    assert downstream.environs[-1]['HTTP_X_IDENTITY_STATUS'] == 'Invalid'
    assert protocol._known_tokens.get('token-1') is None


def test_one_request_asks_the_cache_while_the_others_wait_no_longer():
    protocol, downstream = make_protocol()
    clock = protocol._known_tokens.clock = Clock()
    protocol.tokens['token-1'] = token_data()
    send(protocol)
    identity = protocol._known_tokens.get('token-1')
    # Another request with the token is asking the cache right now.
    identity.rechecking = True
    clock.now += (known_tokens.RECHECK_SECONDS
                  + known_tokens.CHECK_SECONDS) / 2
    send(protocol)
    assert protocol.fetched == ['token-1']
    assert downstream.environs[-1]['HTTP_X_IDENTITY_STATUS'] == 'Confirmed'
    # Never beyond CHECK_SECONDS after the last confirmation.
    clock.now = 1000.0 + known_tokens.CHECK_SECONDS
    send(protocol)
    assert protocol.fetched == ['token-1'] * 2
    assert identity.confirmed_at == clock.now
    assert not identity.rechecking


def test_requests_with_a_service_token_always_ask_auth_token():
    protocol, downstream = make_protocol()
    protocol.tokens['token-1'] = token_data()
    protocol.tokens['service-1'] = token_data(roles=('service',))
    for _ in range(3):
        send(protocol, headers={'X-Service-Token': 'service-1'})
    assert protocol.fetched.count('token-1') == 3
    assert len(protocol._known_tokens) == 0


def test_tokens_with_access_rules_are_checked_per_request():
    protocol, downstream = make_protocol()
    protocol.tokens['token-1'] = token_data(access_rules=[
        {'service': 'preferences', 'method': 'GET', 'path': '/v1/c'}])
    for _ in range(2):
        send(protocol)
    # No service_type configured: auth_token refuses restricted
    # credentials, every time, and nothing is remembered.
    assert protocol.fetched == ['token-1', 'token-1']
    assert len(protocol._known_tokens) == 0
    assert all(environ['HTTP_X_IDENTITY_STATUS'] == 'Invalid'
               for environ in downstream.environs)


def test_a_401_from_the_application_names_keystone_on_every_path():
    protocol, downstream = make_protocol(status='401 Unauthorized')
    protocol.tokens['token-1'] = token_data()
    first, again = send(protocol), send(protocol)
    assert protocol.fetched == ['token-1']
    for response in (first, again):
        assert response.headers.getall('WWW-Authenticate') == [
            'Keystone uri="%s"' % KEYSTONE_URL]


def test_unknown_and_missing_tokens_are_not_remembered():
    protocol, downstream = make_protocol()
    send(protocol, token='nonsense')
    send(protocol, token='nonsense')
    send(protocol, token=None, headers=FORGED)
    assert protocol.fetched == ['nonsense', 'nonsense']
    assert len(protocol._known_tokens) == 0
    assert 'HTTP_X_USER_ID' not in downstream.environs[-1]
