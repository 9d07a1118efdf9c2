"""The per-process memory of auth_token's answers for known tokens."""

import time

from keystonemiddleware.auth_token import _request as ksm_request

from cloudprefs.api.middleware import known_tokens


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def remember(tokens, token, expires_in=3600):
    return tokens.remember(token, {'HTTP_X_USER_ID': token}, {'t': token},
                           time.time() + expires_in)


def test_an_identity_is_confirmed_when_remembered():
    clock = FakeClock()
    tokens = known_tokens.KnownTokens(clock=clock)
    identity = remember(tokens, 't1')
    assert tokens.get('t1') is identity
    assert identity.confirmed_at == clock.now and not identity.rechecking
    assert tokens.get('t2') is None
    assert known_tokens.RECHECK_SECONDS < known_tokens.CHECK_SECONDS <= 1


def test_idle_and_expired_identities_leave_memory():
    clock = FakeClock()
    tokens = known_tokens.KnownTokens(clock=clock)
    for number in range(50):
        remember(tokens, 'idle%d' % number)
    remember(tokens, 'expired', expires_in=-1)
    clock.now += known_tokens.PURGE_SECONDS
    remember(tokens, 'recent')      # used within IDLE_SECONDS: kept
    clock.now += known_tokens.IDLE_SECONDS - 1
    remember(tokens, 'new')
    assert len(tokens) == 2
    assert tokens.get('recent') is not None and tokens.get('new') is not None


def test_never_more_than_the_bound():
    clock = FakeClock()
    tokens = known_tokens.KnownTokens(clock=clock, max_tokens=10)
    for number in range(25):
        remember(tokens, 't%d' % number)
        assert len(tokens) <= 10
    assert tokens.get('t24') is not None
    assert tokens.get('t0') is None


def test_forget():
    tokens = known_tokens.KnownTokens()
    remember(tokens, 't1')
    tokens.forget('t1')
    tokens.forget('never-seen')
    assert tokens.get('t1') is None


def test_the_identity_headers_are_all_that_auth_token_removes_and_more():
    # keystonemiddleware's own list (private): a new header in a later
    # release must be added to ours, or a client could forge it on the
    # requests answered from memory.
    request = ksm_request._AuthTokenRequest.blank('/')
    removed = set(request._all_auth_headers())
    assert removed <= set(known_tokens.IDENTITY_HEADERS)
    assert set(known_tokens.IDENTITY_HEADERS) - removed == {
        'OpenStack-System-Scope'}


def test_forged_headers_are_removed_and_others_kept():
    environ = {'HTTP_X_USER_ID': 'forged', 'HTTP_X_ROLES': 'admin',
               'HTTP_OPENSTACK_SYSTEM_SCOPE': 'all',
               'HTTP_X_SERVICE_CATALOG': '[]', 'HTTP_X_TENANT': 'p',
               'HTTP_X_AUTH_TOKEN': 'token', 'HTTP_ACCEPT': '*/*',
               'PATH_INFO': '/v1'}
    known_tokens.remove_identity_headers(environ)
    assert environ == {'HTTP_X_AUTH_TOKEN': 'token', 'HTTP_ACCEPT': '*/*',
                       'PATH_INFO': '/v1'}


def test_identity_entries_are_the_identity_headers_and_token_data():
    environ = {'HTTP_X_USER_ID': 'u', 'HTTP_X_IDENTITY_STATUS': 'Confirmed',
               'HTTP_OPENSTACK_SYSTEM_SCOPE': None,
               'keystone.token_info': {'token': {}},
               'keystone.token_auth': 'plugin', 'HTTP_X_AUTH_TOKEN': 't',
               'PATH_INFO': '/v1', 'openstack.request_id': 'req-1'}
    assert known_tokens.identity_entries(environ) == {
        'HTTP_X_USER_ID': 'u', 'HTTP_X_IDENTITY_STATUS': 'Confirmed',
        'HTTP_OPENSTACK_SYSTEM_SCOPE': None,
        'keystone.token_info': {'token': {}},
        'keystone.token_auth': 'plugin'}
