"""Shared layers (API 1.4): ?scope= and the merged view ?effective=true,
behind noauth (the same policy matrix with real Keystone tokens is in
test_keystone.py), on every backend and under uwsgi."""

import concurrent.futures
import json
import time
import uuid

import pytest
import requests

from tests.functional.conftest import TEST_LIMITS
from tests.functional.test_api import assert_error
from tests.support import api_server

SERVERS = (api_server.CLOUDPREFS_API, api_server.UWSGI)
V14 = 'preferences 1.4'
# Small, to see that each layer counts its own.
CONTAINER_QUOTA = 20


@pytest.fixture(scope='module')
def api(connection, server_kind, tmp_path_factory):
    """The module's server, holding watches (the shared one answers
    them at once)."""
    server = api_server.server_of_kind(
        server_kind, str(tmp_path_factory.mktemp('api')), connection,
        sections={'api': TEST_LIMITS,
                  'quota': {'containers_per_user': str(CONTAINER_QUOTA)}})
    server.start()
    yield server
    server.stop()


class Caller:
    """Requests with a noauth identity: a user, their roles and the
    token's scope (a project of a domain, a domain, or the system)."""

    def __init__(self, api, roles='member', project=None,
                 project_domain=None, domain=None, system=False,
                 user=None):
        self.api = api
        self.user = user or 'user-' + uuid.uuid4().hex
        self.headers = {'X-User-Id': self.user, 'X-Roles': roles,
                        'OpenStack-API-Version': V14}
        if project:
            self.headers['X-Project-Id'] = project
            self.headers['X-Project-Domain-Id'] = project_domain or 'd0'
        if domain:
            self.headers['X-Domain-Id'] = domain
        if system:
            self.headers['OpenStack-System-Scope'] = 'all'

    def request(self, method, path, value=None, **headers):
        data = None if value is None else json.dumps(value).encode()
        return requests.request(method, self.api.url(path), data=data,
                                headers=dict(self.headers, **headers),
                                timeout=30)

    def get(self, path, **headers):
        return self.request('GET', path, **headers)

    def post(self, path, value, **headers):
        return self.request('POST', path, value, **headers)

    def put(self, path, value, **headers):
        return self.request('PUT', path, value, **headers)


@pytest.fixture
def ids():
    """Fresh project and domain ids, so tests share no layer."""
    suffix = uuid.uuid4().hex[:12]
    return {'project': 'p-' + suffix, 'other_project': 'q-' + suffix,
            'domain': 'd-' + suffix, 'other_domain': 'e-' + suffix}


@pytest.fixture
def people(api, ids):
    project, domain = ids['project'], ids['domain']
    return {
        'member': Caller(api, 'reader,member', project, domain),
        'manager': Caller(api, 'reader,member,manager', project, domain),
        'project_admin': Caller(api, 'reader,member,manager,admin', project,
                                domain),
        'outsider': Caller(api, 'reader,member,manager,admin',
                           ids['other_project'], ids['other_domain']),
        'neighbour': Caller(api, 'reader,member', ids['other_project'],
                            domain),
        'domain_manager': Caller(api, 'reader,member,manager',
                                 domain=domain),
        'domain_member': Caller(api, 'reader,member', domain=domain),
        'system_admin': Caller(api, 'reader,member,manager,admin',
                               system=True),
        'system_reader': Caller(api, 'reader', system=True),
    }


def status(response):
    return response.status_code


# ?scope= --------------------------------------------------------------------

def test_before_1_4_scope_is_ignored(people):
    manager = people['manager']
    old = {'OpenStack-API-Version': 'preferences 1.3'}
    assert status(manager.post('/v1/c?scope=project', {'mine': 1},
                               **old)) == 204
    assert manager.get('/v1/c', **old).json() == {'mine': 1}
    assert status(manager.get('/v1/c?scope=project')) == 404


def test_a_project_layer_is_apart_from_its_users(people, ids):
    manager, member = people['manager'], people['member']
    assert status(manager.post('/v1/defaults?scope=project',
                               {'theme': 'dark'})) == 204
    assert status(member.get('/v1/defaults')) == 404
    assert member.get('/v1/defaults?scope=project').json() == {
        'theme': 'dark'}
    assert manager.get('/v1').json() == []
    listing = member.get('/v1?scope=project')
    assert listing.json() == ['defaults']
    # Usage of its own.
    assert listing.headers['X-Container-Count'] == '1'
    assert manager.get('/v1').headers['X-Container-Count'] == '0'
    # Paths, HEAD, conditional writes as anywhere.
    assert member.get('/v1/defaults/theme?scope=project').json() == 'dark'
    etag = member.request('HEAD', '/v1/defaults?scope=project').headers[
        'ETag']
    stale = manager.post('/v1/defaults/theme?scope=project', 'light',
                         **{'If-Match': '"1"'})
    assert_error(stale, 412, 'cloudprefs.precondition_failed')
    assert status(manager.post('/v1/defaults/theme?scope=project', 'light',
                               **{'If-Match': etag})) == 204
    assert member.get('/v1/defaults?scope=project').json() == {
        'theme': 'light'}


def test_the_project_layer_policy(people, ids):
    path = '/v1/c?scope=project'
    for writer in ('manager', 'project_admin'):
        assert status(people[writer].post(path, {writer: 1})) == 204
    for reader in ('member', 'manager', 'project_admin'):
        assert people[reader].get(path).json() == {'manager': 1,
                                                   'project_admin': 1}
    assert_error(people['member'].post(path, {'x': 1}), 403,
                 'cloudprefs.forbidden')
    assert_error(people['member'].request('DELETE', path), 403,
                 'cloudprefs.forbidden')
    # Nobody reaches another project's layer by naming it...
    named = '/v1/c?scope=project&project_id=' + ids['project']
    for stranger in ('outsider', 'neighbour', 'domain_manager'):
        assert_error(people[stranger].get(named), 403,
                     'cloudprefs.forbidden')
        assert_error(people[stranger].post(named, {'x': 1}), 403,
                     'cloudprefs.forbidden')
    # ...but the cloud administrator.
    admin = people['system_admin']
    assert status(admin.post(named, {'by_admin': 1})) == 204
    assert people['member'].get(path).json()['by_admin'] == 1
    # A token without a project names one, or is told to.
    assert_error(admin.get('/v1/c?scope=project'), 400,
                 'cloudprefs.bad_request')


def test_the_domain_layer_policy(people, ids):
    path = '/v1/c?scope=domain'
    assert status(people['domain_manager'].post(path, {'d': 1})) == 204
    # Readers: domain-scoped tokens, and tokens of its projects.
    for reader in ('domain_member', 'member', 'manager', 'neighbour'):
        assert people[reader].get(path).json() == {'d': 1}, reader
    # A project's manager is not the domain's.
    for writer in ('domain_member', 'manager', 'project_admin'):
        assert_error(people[writer].post(path, {'x': 1}), 403,
                     'cloudprefs.forbidden')
    assert_error(people['outsider'].get(
        path + '&domain_id=' + ids['domain']), 403, 'cloudprefs.forbidden')
    assert status(people['outsider'].get(path)) == 404   # its own domain's
    named = path + '&domain_id=' + ids['domain']
    assert status(people['system_admin'].post(named, {'e': 2})) == 204
    assert people['member'].get(path).json() == {'d': 1, 'e': 2}


def test_the_cloud_layer_policy(people):
    path = '/v1/c-%s?scope=cloud' % uuid.uuid4().hex
    assert status(people['system_admin'].put(path, {'c': 1})) == 204
    for reader in people:
        assert people[reader].get(path).json() == {'c': 1}, reader
    for writer in ('member', 'manager', 'project_admin', 'domain_manager',
                   'system_reader'):
        assert_error(people[writer].post(path, {'x': 1}), 403,
                     'cloudprefs.forbidden')
    assert status(people['system_admin'].request('DELETE', path)) == 204
    assert status(people['member'].get(path)) == 404


@pytest.mark.parametrize('query', [
    'scope=team', 'scope=', 'scope=project&user_id=u',
    'scope=user&project_id=p', 'scope=cloud&domain_id=d',
    'scope=project&domain_id=d', 'scope=project&project_id=' + 'p' * 65,
    'scope=project&project_id=None', 'effective=yes',
    'effective=true&scope=project', 'effective=true&user_id=u'])
def test_bad_layer_parameters_are_400(people, query):
    response = people['system_admin'].get('/v1/c?' + query)
    assert_error(response, 400, 'cloudprefs.bad_request')
    assert 'errors' in response.json()


@pytest.mark.parametrize('query', [
    'effective=true&since=0', 'effective=true&since=0&wait=1',
    'effective=true&detail=true'])
def test_the_merged_listing_has_no_feed_or_details(people, query):
    # Before, since= answered the user's own feed and detail=true the
    # merged names, as if effective=true had been understood.
    response = people['member'].get('/v1?' + query)
    assert_error(response, 400, 'cloudprefs.bad_request')
    assert 'effective=true' in response.json()['errors'][0]['detail']
    # Without effective=true the feed is read as before, detail unread.
    plain = people['member'].get('/v1?since=0&detail=maybe')
    assert plain.status_code == 200 and 'changes' in plain.json()


def test_a_layer_has_a_feed_of_its_own(people):
    manager, member = people['manager'], people['member']
    cursor = member.get('/v1?scope=project').headers['X-Cursor']
    user_cursor = member.get('/v1').headers['X-Cursor']
    assert status(manager.post('/v1/a?scope=project', {'v': 1})) == 204
    assert status(member.post('/v1/mine', {'v': 1})) == 204
    changes = member.get('/v1?scope=project&since=' + cursor).json()[
        'changes']
    assert [change['container'] for change in changes] == ['a']
    mine = member.get('/v1?since=' + user_cursor).json()['changes']
    assert [change['container'] for change in mine] == ['mine']


def test_a_layer_has_a_quota_of_its_own(people):
    manager = people['manager']
    for number in range(CONTAINER_QUOTA):
        assert status(manager.post('/v1/c%d?scope=project' % number,
                                   {})) == 204
    assert_error(manager.post('/v1/one-more?scope=project', {}), 403,
                 'cloudprefs.quota_exceeded')
    listing = manager.get('/v1?scope=project')
    assert listing.headers['X-Container-Count'] == str(CONTAINER_QUOTA)
    assert listing.headers['X-Container-Quota'] == str(CONTAINER_QUOTA)
    # The manager's own containers are counted apart.
    assert status(manager.post('/v1/mine', {})) == 204


def test_a_watch_of_a_layer_wakes_for_its_writers(people):
    manager, member = people['manager'], people['member']
    manager.post('/v1/w?scope=project', {'v': 1})
    etag = member.get('/v1/w?scope=project').headers['ETag']
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        watching = pool.submit(member.get, '/v1/w?scope=project', **{
            'If-None-Match': etag, 'Prefer': 'wait=20'})
        time.sleep(1.0)
        assert not watching.done()
        assert status(manager.post('/v1/w/v?scope=project', 2)) == 204
        response = watching.result(timeout=30)
    assert response.status_code == 200
    assert response.json() == {'v': 2}


def test_deleting_a_whole_layer(people):
    manager, member = people['manager'], people['member']
    for name in ('a', 'b'):
        manager.post('/v1/%s?scope=project' % name, {})
    member.post('/v1/own', {})
    assert status(manager.request('DELETE', '/v1?scope=project')) == 204
    assert member.get('/v1?scope=project').json() == []
    assert member.get('/v1').json() == ['own']


# The merged view ------------------------------------------------------

def _layered(people, name):
    """cloud < domain < project < user, the API reference's example."""
    cloud = {'build_config': {'compiler': 'gcc', 'flags': ['-O2'],
                              'arch': 'x86_64', 'debug': False},
             'region': 'one', 'editor': 'vi'}
    domain = {'build_config': {'flags': ['-O2', '-g']}, 'region': 'two'}
    project = {'build_config': {'compiler': 'clang', 'arch': None},
               'team': {'channel': '#build'}}
    user = {'build_config': {'debug': True}, 'editor': None,
            'team': {'muted': True}}
    assert status(people['system_admin'].put(
        '/v1/%s?scope=cloud' % name, cloud)) == 204
    assert status(people['domain_manager'].put(
        '/v1/%s?scope=domain' % name, domain)) == 204
    assert status(people['manager'].put(
        '/v1/%s?scope=project' % name, project)) == 204
    assert status(people['member'].put('/v1/' + name, user)) == 204


MERGED = {'build_config': {'compiler': 'clang', 'flags': ['-O2', '-g'],
                           'debug': True},
          'region': 'two', 'team': {'channel': '#build', 'muted': True}}


def test_the_layers_merge(people):
    name = 'defaults-' + uuid.uuid4().hex
    _layered(people, name)
    member = people['member']
    merged = member.get('/v1/%s?effective=true' % name)
    assert merged.status_code == 200
    assert merged.json() == MERGED
    assert member.get('/v1/%s/build_config/flags?effective=true'
                      % name).json() == ['-O2', '-g']
    assert member.get('/v1/%s/team?effective=true' % name).json() == {
        'channel': '#build', 'muted': True}
    # Removed by a null above: gone from the merge, as a missing key is.
    for gone in ('editor', 'build_config/arch', 'nothing'):
        assert_error(member.get('/v1/%s/%s?effective=true' % (name, gone)),
                     404, 'cloudprefs.not_found')
    # Each layer alone is unchanged.
    assert member.get('/v1/' + name).json() == {
        'build_config': {'debug': True}, 'editor': None,
        'team': {'muted': True}}
    head = member.request('HEAD', '/v1/%s?effective=true' % name)
    assert head.status_code == 200 and head.content == b''
    assert head.headers['ETag'] == merged.headers['ETag']
    # Someone of another project and domain has the cloud's only.
    assert people['outsider'].get('/v1/%s?effective=true' % name).json() \
        == {'build_config': {'compiler': 'gcc', 'flags': ['-O2'],
                             'arch': 'x86_64', 'debug': False},
            'region': 'one', 'editor': 'vi'}


def test_a_value_above_replaces_an_object_below(people):
    name = 'c-' + uuid.uuid4().hex
    people['system_admin'].put('/v1/%s?scope=cloud' % name,
                               {'a': {'b': 1, 'c': 2}, 'l': [1, 2]})
    people['member'].put('/v1/' + name, {'a': 5, 'l': [3]})
    member = people['member']
    assert member.get('/v1/%s?effective=true' % name).json() == {
        'a': 5, 'l': [3]}
    assert_error(member.get('/v1/%s/a/b?effective=true' % name), 404,
                 'cloudprefs.not_found')
    # An object above a value below takes its place, without its nulls.
    people['member'].put('/v1/' + name, {'l': {'x': 1, 'y': None}})
    assert member.get('/v1/%s?effective=true' % name).json() == {
        'a': {'b': 1, 'c': 2}, 'l': {'x': 1}}


def test_the_merged_view_is_404_only_when_no_layer_has_it(people):
    name = 'c-' + uuid.uuid4().hex
    member = people['member']
    assert_error(member.get('/v1/%s?effective=true' % name), 404,
                 'cloudprefs.not_found')
    people['manager'].post('/v1/%s?scope=project' % name, {'p': 1})
    assert member.get('/v1/%s?effective=true' % name).json() == {'p': 1}


def test_the_merged_etag_follows_every_layer(people):
    name = 'c-' + uuid.uuid4().hex
    _layered(people, name)
    member = people['member']
    path = '/v1/%s?effective=true' % name
    first = member.get(path).headers['ETag']
    assert first != member.get('/v1/' + name).headers['ETag']
    assert status(member.get(path, **{'If-None-Match': first})) == 304
    writers = [(people['system_admin'], 'cloud'),
               (people['domain_manager'], 'domain'),
               (people['manager'], 'project'), (member, 'user')]
    seen = {first}
    for writer, layer in writers:
        query = '' if layer == 'user' else '?scope=' + layer
        assert status(writer.post('/v1/%s/n%s' % (name, query), layer)) \
            == 204
        response = member.get(path, **{'If-None-Match': first})
        assert response.status_code == 200, layer
        # Written lowest first, each layer's value is the highest yet.
        assert response.json()['n'] == layer
        assert response.headers['ETag'] not in seen
        seen.add(response.headers['ETag'])


def test_a_watch_of_the_merged_view_wakes_for_the_cloud(people):
    name = 'defaults-' + uuid.uuid4().hex
    admin, member = people['system_admin'], people['member']
    admin.put('/v1/%s?scope=cloud' % name, {'v': 1})
    etag = member.get('/v1/%s?effective=true' % name).headers['ETag']

    def watch():
        started = time.monotonic()
        response = member.get('/v1/%s?effective=true' % name, **{
            'If-None-Match': etag, 'Prefer': 'wait=20'})
        return response, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        watching = pool.submit(watch)
        time.sleep(1.0)
        assert not watching.done()
        changed_at = time.monotonic()
        assert status(admin.post('/v1/%s/v?scope=cloud' % name, 2)) == 204
        response, _took = watching.result(timeout=30)
        woke_after = time.monotonic() - changed_at
    assert response.status_code == 200
    assert response.json() == {'v': 2}
    assert woke_after < 3, woke_after


def test_the_merged_listing_is_the_union(people):
    prefix = 'u%s-' % uuid.uuid4().hex[:8]
    people['system_admin'].post('/v1/%sa?scope=cloud' % prefix, {})
    people['system_admin'].post('/v1/%sc?scope=cloud' % prefix, {})
    people['manager'].post('/v1/%sb?scope=project' % prefix, {})
    people['member'].post('/v1/%sc' % prefix, {})
    people['member'].post('/v1/%sd' % prefix, {})
    member = people['member']
    listing = member.get('/v1?effective=true&prefix=' + prefix)
    assert listing.json() == [prefix + letter for letter in 'abcd']
    first = member.get('/v1?effective=true&limit=3&prefix=' + prefix)
    assert first.json() == [prefix + letter for letter in 'abc']
    link = first.headers['Link']
    assert 'effective=true' in link and 'marker=' in link
    url = link[1:link.index('>')]
    rest = requests.get(url, headers=member.headers, timeout=30)
    assert rest.json() == [prefix + 'd']
    assert status(member.get('/v1?effective=true&prefix=' + prefix, **{
        'If-None-Match': listing.headers['ETag']})) == 304


def test_the_api_reference_example(people):
    """doc/source/api-reference.rst, "The merged view", step by step."""
    name = 'defaults-' + uuid.uuid4().hex
    assert status(people['system_admin'].put(
        '/v1/%s?scope=cloud' % name,
        {'build_config': {'compiler': 'gcc', 'flags': ['-O2'],
                          'debug': False}, 'editor': 'vi'})) == 204
    assert status(people['manager'].post(
        '/v1/%s/build_config/compiler?scope=project' % name, 'clang')) == 204
    assert status(people['member'].post(
        '/v1/' + name, {'build_config': {'debug': True},
                        'editor': None})) == 204
    assert people['member'].get('/v1/' + name).json() == {
        'build_config': {'debug': True}, 'editor': None}
    assert people['member'].get('/v1/%s?effective=true' % name).json() == {
        'build_config': {'compiler': 'clang', 'flags': ['-O2'],
                         'debug': True}}
    assert people['project_admin'].get(
        '/v1/%s?effective=true' % name).json() == {
        'build_config': {'compiler': 'clang', 'flags': ['-O2'],
                         'debug': False}, 'editor': 'vi'}
    assert people['outsider'].get('/v1/%s?effective=true' % name).json() \
        == {'build_config': {'compiler': 'gcc', 'flags': ['-O2'],
                             'debug': False}, 'editor': 'vi'}


def test_the_readme_example(api):
    """README.rst, "Shared layers": a user with no project reads the
    cloud's layer under their own."""
    name = 'defaults-' + uuid.uuid4().hex
    operator = Caller(api, 'admin', system=True)
    assert status(operator.put('/v1/%s?scope=cloud' % name,
                               {'editor': 'vi', 'theme': 'light'})) == 204
    alone = Caller(api)
    assert alone.get('/v1/%s?effective=true' % name).json() == {
        'editor': 'vi', 'theme': 'light'}
    assert_error(alone.get('/v1/%s?scope=project' % name), 400,
                 'cloudprefs.bad_request')
    operator.request('DELETE', '/v1/%s?scope=cloud' % name)
