"""cloudprefs-api with auth_strategy = keystone against a real Keystone,
with the token cache in a real memcached."""

import json
import time
import uuid

import pytest
import requests

from cloudprefs.api.middleware import known_tokens
from tests.support import api_server

# The pipeline behind real Keystone under both servers.
SERVERS = (api_server.CLOUDPREFS_API, api_server.UWSGI)

TOKEN_CACHE_TIME = 3
# The tokens of short_lived_keystone.
TOKEN_LIFE = 8


def authtoken_settings(keystone, memcached, password=None):
    service = keystone.users['service']
    return {
        'www_authenticate_uri': keystone.auth_url,
        'auth_url': keystone.auth_url,
        'auth_type': 'password',
        'username': service['name'],
        'password': password or service['password'],
        'project_name': service['project'],
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'memcached_servers': '127.0.0.1:%d' % memcached.port,
        'token_cache_time': str(TOKEN_CACHE_TIME),
        'service_token_roles_required': 'true',
    }


@pytest.fixture(scope='module')
def api(keystone, memcached, server_kind, tmp_path_factory):
    server = api_server.server_of_kind(
        server_kind, str(tmp_path_factory.mktemp('keystone-api')),
        connection=None,
        auth_strategy='keystone',
        sections={'keystone_authtoken': authtoken_settings(keystone,
                                                           memcached)})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def tokens(keystone):
    return {name: keystone.token(user)
            for name, user in keystone.users.items() if name != 'service'}


def call(api, method, path, token=None, body=None, headers=None):
    all_headers = dict(headers or {})
    if token:
        all_headers['X-Auth-Token'] = token
    return requests.request(method, api.url(path), data=body,
                            headers=all_headers, timeout=30)


def assert_401(response, keystone):
    assert response.status_code == 401, response.text
    assert response.headers['WWW-Authenticate'] == (
        'Keystone uri="%s"' % keystone.auth_url)
    assert response.json()['errors'][0]['code'] == 'cloudprefs.unauthenticated'


def test_seed_examples_with_real_tokens(api, tokens):
    token = tokens['alice']
    call(api, 'DELETE', '/v1', token)
    assert call(api, 'POST', '/v1/defaults', token).status_code == 204
    assert call(api, 'POST', '/v1/defaults', token,
                '{"build_config": ["monitoring", "backup"]}'
                ).status_code == 204
    assert call(api, 'POST', '/v1/defaults/passwords/root', token,
                '"secretpassword"').status_code == 204
    assert call(api, 'GET', '/v1', token).json() == ['defaults']
    assert call(api, 'GET', '/v1/defaults', token).json() == {
        'build_config': ['monitoring', 'backup'],
        'passwords': {'root': 'secretpassword'}}
    assert call(api, 'GET', '/v1/defaults/passwords/root',
                token).json() == 'secretpassword'
    assert call(api, 'DELETE', '/v1/defaults/passwords/root',
                token).status_code == 204
    assert call(api, 'DELETE', '/v1/defaults', token).status_code == 204


def test_users_are_isolated(api, tokens):
    name = 'private-' + uuid.uuid4().hex
    assert call(api, 'POST', '/v1/%s/pin' % name, tokens['alice'],
                '1234').status_code == 204
    assert name not in call(api, 'GET', '/v1', tokens['bob']).json()
    assert call(api, 'GET', '/v1/' + name, tokens['bob']).status_code == 404
    assert call(api, 'DELETE', '/v1', tokens['bob']).status_code == 204
    assert call(api, 'GET', '/v1/%s/pin' % name,
                tokens['alice']).json() == 1234


def test_forged_identity_headers_change_nothing(api, keystone):
    alice, bob = keystone.users['alice'], keystone.users['bob']
    # A new token: its first request is answered by auth_token itself,
    # the next ones from the process's memory of it; both ignore forgery.
    token = keystone.token(alice)
    name = 'forged-' + uuid.uuid4().hex
    forged = {'X-User-Id': bob['id'], 'X-Roles': 'admin',
              'X-Project-Id': 'other', 'OpenStack-System-Scope': 'all',
              'X-Identity-Status': 'Confirmed', 'X-Is-Admin-Project': 'True',
              'X-Service-Catalog': '[]', 'X-Tenant-Id': 'other'}
    for attempt in range(3):
        # With a valid token the request is alice's, whatever it claims.
        assert call(api, 'POST', '/v1/%s/k' % name, token, str(attempt),
                    forged).status_code == 204
        # The forged admin role and system scope do not open ?user_id=.
        response = call(api, 'GET', '/v1?user_id=%s' % bob['id'], token,
                        headers=forged)
        assert response.status_code == 403, response.text
    assert call(api, 'GET', '/v1/%s/k' % name, token).json() == 2
    assert name not in call(api, 'GET', '/v1',
                            keystone.token(bob)).json()
    # Without a token, forged headers are no identity at all.
    assert_401(call(api, 'GET', '/v1', headers=forged), keystone)
    assert alice['id'] != bob['id']


@pytest.mark.parametrize('token', [None, '', 'not-a-token',
                                   'gAAAAAB' + 'x' * 180])
def test_missing_or_invalid_token_is_401(api, keystone, token):
    for method, path in (('GET', '/v1'), ('POST', '/v1/c'),
                         ('DELETE', '/v1/c/k')):
        headers = {} if token is None else {'X-Auth-Token': token}
        assert_401(call(api, method, path, headers=headers), keystone)


def test_user_id_query_for_system_administrators_only(api, tokens,
                                                      keystone):
    bob = keystone.users['bob']
    assert call(api, 'POST', '/v1/shared/k', tokens['bob'],
                '"bob"').status_code == 204
    query = '?user_id=%s' % bob['id']
    response = call(api, 'GET', '/v1/shared/k' + query, tokens['dave'])
    assert response.status_code == 200 and response.json() == 'bob'
    assert call(api, 'POST', '/v1/shared/k' + query, tokens['dave'],
                '"set by admin"').status_code == 204
    assert call(api, 'GET', '/v1/shared/k',
                tokens['bob']).json() == 'set by admin'
    # A member, and the admin of a project, are not administrators here.
    for name in ('alice', 'carol'):
        for method in ('GET', 'DELETE'):
            response = call(api, method, '/v1/shared/k' + query,
                            tokens[name])
            assert response.status_code == 403, (name, method)
            assert response.json()['errors'][0]['code'] == \
                'cloudprefs.forbidden'
    assert call(api, 'GET', '/v1/shared/k', tokens['bob']).json() == \
        'set by admin'
    # A system administrator's own data is theirs as anyone's.
    assert call(api, 'POST', '/v1/mine', tokens['dave'], '{}'
                ).status_code == 204


def test_a_project_admin_under_the_deprecated_rule(keystone, memcached,
                                                   tokens, tmp_path):
    """[oslo_policy] enforce_new_defaults = false: a cloud still run with
    project-scoped admin tokens keeps them working (deprecated)."""
    server = api_server.ApiServer(
        str(tmp_path), connection=None, auth_strategy='keystone',
        sections={'keystone_authtoken': authtoken_settings(keystone,
                                                           memcached),
                  'oslo_policy': {'enforce_new_defaults': 'false'}})
    server.start()
    try:
        bob = keystone.users['bob']
        assert call(server, 'POST', '/v1/c/k', tokens['bob'], '1'
                    ).status_code == 204
        query = '?user_id=%s' % bob['id']
        assert call(server, 'GET', '/v1/c/k' + query, tokens['carol']
                    ).json() == 1
        assert call(server, 'GET', '/v1/c/k' + query, tokens['alice']
                    ).status_code == 403
    finally:
        server.stop()


def test_validated_tokens_are_served_from_memcached(api, keystone,
                                                    memcached):
    token = keystone.token(keystone.users['alice'])
    assert call(api, 'GET', '/v1', token).status_code == 200
    before = memcached.stats()
    # A burst within CHECK_SECONDS: from the process's own memory.
    for _ in range(10):
        assert call(api, 'GET', '/v1', token).status_code == 200
    burst = memcached.stats()
    # A second later (and well within TOKEN_CACHE_TIME): from memcached,
    # where auth_token stored the validation.
    time.sleep(known_tokens.CHECK_SECONDS + 0.1)
    assert call(api, 'GET', '/v1', token).status_code == 200
    after = memcached.stats()
    assert after['curr_items'] >= 1
    assert burst['get_hits'] - before['get_hits'] <= 1
    assert after['get_hits'] - burst['get_hits'] == 1


def test_revoked_token_stops_working_after_cache_time(api, keystone):
    token = keystone.token(keystone.users['alice'])
    assert call(api, 'GET', '/v1', token).status_code == 200
    keystone.revoke(token)
    time.sleep(TOKEN_CACHE_TIME + 1.5)
    assert_401(call(api, 'GET', '/v1', token), keystone)


@pytest.fixture(scope='module')
def short_lived_keystone(tmp_path_factory):
    """A Keystone of the module's own whose tokens live TOKEN_LIFE
    seconds, and the users of the tests."""
    from tests.support import keystone as keystone_support
    server = keystone_support.KeystoneServer(
        str(tmp_path_factory.mktemp('short-keystone')))
    try:
        server.start(token_expiration=TOKEN_LIFE)
        server.users = {
            'service': server.create_user('cloudprefs', 'service',
                                          'service'),
            'erin': server.create_user('erin', 'demo', 'member')}
        yield server
    finally:
        server.stop()


def expires_at(keystone, token):
    """The token's expiry, as Keystone reports it (epoch seconds)."""
    body = keystone._call('GET', '/auth/tokens',
                          headers={'X-Subject-Token': token})
    from oslo_utils import timeutils
    return timeutils.parse_isotime(body['token']['expires_at']).timestamp()


def test_expiry_is_checked_on_every_request(short_lived_keystone,
                                            memcached, tmp_path):
    keystone = short_lived_keystone
    settings = authtoken_settings(keystone, memcached)
    # Cached far longer than the token lives: only the check of its
    # expiry on each request can refuse it.
    settings['token_cache_time'] = '300'
    server = api_server.ApiServer(str(tmp_path), connection=None,
                                  auth_strategy='keystone',
                                  sections={'keystone_authtoken': settings})
    server.start()
    try:
        token = keystone.token(keystone.users['erin'])
        end = expires_at(keystone, token)
        answers = []
        while time.time() < end + 2:
            sent = time.time()
            response = call(server, 'GET', '/v1', token)
            answers.append((sent, time.time(), response))
            time.sleep(0.05)
    finally:
        server.stop()
    # Served (from memory, mostly) until it expires, refused right after:
    # a request is handled between its sending and its answer.
    for sent, answered, response in answers:
        if answered < end:
            assert response.status_code == 200, response.text
        elif sent > end:
            assert_401(response, keystone)
    assert sum(1 for _, answered, _ in answers if answered < end) > 5
    assert sum(1 for sent, _, _ in answers if sent > end) > 5


def test_unreachable_keystone_is_503_and_known_tokens_stay_valid(
        short_lived_keystone, memcached, tmp_path):
    keystone = short_lived_keystone
    settings = authtoken_settings(keystone, memcached)
    # Long enough to outlast stopping Keystone on a loaded machine.
    settings['token_cache_time'] = '60'
    server = api_server.ApiServer(
        str(tmp_path), connection=None, auth_strategy='keystone',
        sections={'keystone_authtoken': settings})
    server.start()
    known = keystone.token(keystone.users['erin'])
    unknown = keystone.token(keystone.users['erin'])
    try:
        assert call(server, 'GET', '/v1', known).status_code == 200
        keystone.stop()
        # Still in auth_token's cache (token_cache_time): served, from
        # the process's memory and then from memcached.
        assert call(server, 'GET', '/v1', known).status_code == 200
        time.sleep(known_tokens.CHECK_SECONDS + 0.1)
        assert call(server, 'GET', '/v1', known).status_code == 200
        # A token Keystone would have to validate: 503, not 401.
        response = call(server, 'GET', '/v1', unknown)
        assert response.status_code == 503, response.text
        assert response.headers['Retry-After']
        assert response.json()['errors'][0]['code'] == (
            'cloudprefs.auth_unavailable')
    finally:
        server.stop()


def test_tokens_never_appear_in_the_log(api, tokens):
    for token in tokens.values():
        call(api, 'GET', '/v1', token)
    call(api, 'GET', '/v1', 'gAAAAABnot-a-real-token-but-secret')
    log = api.log()
    assert log, 'the API wrote no log'
    for token in list(tokens.values()) + ['not-a-real-token-but-secret']:
        assert token not in log


def test_wrong_service_password_is_503_without_secrets(keystone, memcached,
                                                       tokens,
                                                       tmp_path):
    wrong = 'wrong-' + uuid.uuid4().hex
    settings = authtoken_settings(keystone, memcached, password=wrong)
    settings['memcached_servers'] = ''      # no cached validations
    server = api_server.ApiServer(str(tmp_path), connection=None,
                                  auth_strategy='keystone',
                                  sections={'keystone_authtoken': settings})
    server.start()
    try:
        response = call(server, 'GET', '/v1', tokens['alice'])
    finally:
        server.stop()
    assert response.status_code == 503, response.text
    assert response.headers['Retry-After']
    error = response.json()['errors'][0]
    assert error['code'] == 'cloudprefs.auth_unavailable'
    assert wrong not in response.text
    assert tokens['alice'] not in response.text
    assert wrong not in server.log()


# Shared layers (API 1.4) with real tokens ------------------------------

V14 = {'OpenStack-API-Version': 'preferences 1.4'}


@pytest.fixture(scope='module')
def layer_people(keystone):
    """Tokens of the policy matrix: members and managers of project
    demo, its admin (carol), a domain administrator, a member of another
    project and the cloud administrator (dave)."""
    suffix = uuid.uuid4().hex[:8]
    erin = keystone.create_user('erin-' + suffix, 'demo', 'manager')
    frank = keystone.create_user('frank-' + suffix, 'demo', 'member')
    keystone.grant_domain_role(frank, 'admin')
    grace = keystone.create_user('grace-' + suffix, 'other-' + suffix,
                                 'member')
    users = {'member': keystone.users['alice'], 'manager': erin,
             'project_admin': keystone.users['carol'],
             'domain_admin': frank, 'outsider': grace,
             'system_admin': keystone.users['dave']}
    return {'tokens': {name: keystone.token(user)
                       for name, user in users.items()},
            'demo': keystone.ensure_project('demo')}


def test_the_layer_policy_matrix_with_real_tokens(api, layer_people):
    tokens, demo = layer_people['tokens'], layer_people['demo']
    name = 'defaults-' + uuid.uuid4().hex[:8]

    def status(method, who, query, body=None):
        return call(api, method, '/v1/%s?%s' % (name, query), tokens[who],
                    body, headers=V14).status_code

    expected_writes = {
        # (layer query, writer): status
        ('scope=project', 'member'): 403,
        ('scope=project', 'manager'): 204,
        ('scope=project', 'project_admin'): 204,
        ('scope=project&project_id=' + demo, 'domain_admin'): 403,
        ('scope=project&project_id=' + demo, 'outsider'): 403,
        ('scope=project&project_id=' + demo, 'system_admin'): 204,
        ('scope=domain', 'member'): 403,
        ('scope=domain', 'manager'): 403,
        ('scope=domain', 'project_admin'): 403,
        ('scope=domain', 'domain_admin'): 204,
        ('scope=domain&domain_id=default', 'system_admin'): 204,
        ('scope=cloud', 'project_admin'): 403,
        ('scope=cloud', 'domain_admin'): 403,
        ('scope=cloud', 'system_admin'): 204,
    }
    seen = {key: status('POST', key[1], key[0],
                        json.dumps({key[1]: key[0]}))
            for key in expected_writes}
    assert seen == expected_writes
    expected_reads = {
        ('scope=project', 'member'): 200,
        ('scope=project&project_id=' + demo, 'outsider'): 403,
        ('scope=project&project_id=' + demo, 'domain_admin'): 403,
        ('scope=domain', 'member'): 200,     # a project of the domain
        ('scope=domain', 'outsider'): 200,   # so is grace's
        ('scope=domain', 'domain_admin'): 200,
        ('scope=cloud', 'member'): 200,
        ('scope=cloud', 'outsider'): 200,
    }
    seen = {key: status('GET', key[1], key[0]) for key in expected_reads}
    assert seen == expected_reads
    merged = call(api, 'GET', '/v1/%s?effective=true' % name,
                  tokens['member'], headers=V14).json()
    assert merged == {'manager': 'scope=project',
                      'project_admin': 'scope=project',
                      'system_admin': 'scope=project&project_id=' + demo,
                      'domain_admin': 'scope=domain'}
