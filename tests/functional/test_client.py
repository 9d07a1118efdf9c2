"""The client distribution (client/) against a real deployment.

cloudprefs-api runs behind the real Keystone of the keystone tests, with
the service in the catalog as type ``preferences``. The client lives in
a virtualenv of its own (``.client-venv``, made by tools/run-tests.sh
from ``client/`` with python-openstackclient and tempest; the
``CLOUDPREFS_TEST_CLIENT_VENV`` variable names another), so these tests
also show that it works without anything of the server installed. Users
reach the service with nothing but a ``clouds.yaml``.
"""

import calendar
import json
import os
import re
import subprocess
import time
import uuid

import pytest
import yaml

from tests.functional import test_keystone
from tests.support import api_server
from tests.support import config
from tests.support import keystone as keystone_support

REPOSITORY = keystone_support.REPOSITORY
VENV_ENV = 'CLOUDPREFS_TEST_CLIENT_VENV'
CONTAINER_QUOTA = 25
MAX_CONTAINER_SIZE = 64 * 1024
# The service's own dependencies: none may come with the client.
SERVER_ONLY = {'eventlet', 'pymongo', 'sqlalchemy', 'keystonemiddleware',
               'webob', 'routes', 'pastedeploy', 'psycopg2-binary',
               'pymysql', 'secantusdb', 'uwsgi', 'oslo-policy',
               'oslo-middleware', 'python-cloudprefs'}


def client_venv():
    return config.tool_venv(VENV_ENV, '.client-venv', 'openstack',
                            'The client')


def venv_command(name):
    return os.path.join(client_venv(), 'bin', name)


@pytest.fixture(scope='module')
def deployment(keystone, memcached, tmp_path_factory):
    """cloudprefs-api behind Keystone, in the catalog, and a clouds.yaml
    with a cloud per user: alice and bob (members), dave (system
    administrator)."""
    workdir = tmp_path_factory.mktemp('client')
    server = api_server.ApiServer(
        str(workdir), connection=None, auth_strategy='keystone',
        sections={
            'keystone_authtoken': test_keystone.authtoken_settings(
                keystone, memcached),
            'quota': {'containers_per_user': str(CONTAINER_QUOTA)},
            'api': {'max_container_size': str(MAX_CONTAINER_SIZE)},
        })
    server.start()
    unregister = keystone.register_service('preferences', server.base_url,
                                           name='cloudprefs')
    clouds = {}
    for name in ('alice', 'bob', 'carol', 'dave'):
        user = keystone.users[name]
        auth = {'auth_url': keystone.auth_url, 'username': user['name'],
                'password': user['password'],
                'user_domain_name': 'Default'}
        if user.get('system'):
            auth['system_scope'] = 'all'
        else:
            auth.update(project_name=user['project'],
                        project_domain_name='Default')
        clouds[name] = {'auth': auth, 'region_name': 'RegionOne',
                        'interface': 'public',
                        'identity_api_version': 3}
    clouds_yaml = workdir / 'clouds.yaml'
    clouds_yaml.write_text(yaml.safe_dump({'clouds': clouds}))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_yaml),
               CLOUDPREFS_TEST_CLOUD='alice',
               CLOUDPREFS_TEST_ALT_CLOUD='bob',
               CLOUDPREFS_TEST_ADMIN_CLOUD='dave',
               CLOUDPREFS_TEST_ENDPOINT=server.base_url,
               CLOUDPREFS_TEST_CONTAINER_QUOTA=str(CONTAINER_QUOTA),
               CLOUDPREFS_TEST_MAX_CONTAINER_SIZE=str(MAX_CONTAINER_SIZE))
    for name in [name for name in env if name.startswith('OS_')
                 and name != 'OS_CLIENT_CONFIG_FILE']:
        del env[name]
    deployment = {'server': server, 'keystone': keystone, 'env': env,
                  'workdir': workdir,
                  'user_ids': {name: keystone.users[name]['id']
                               for name in clouds}}
    yield deployment
    unregister()
    server.stop()


def openstack(deployment, cloud, *args, stdin=None):
    """Run ``openstack --os-cloud CLOUD ARGS``; the CompletedProcess."""
    return subprocess.run(
        [venv_command('openstack'), '--os-cloud', cloud, *args],
        env=deployment['env'], input=stdin, capture_output=True,
        text=True, timeout=120)


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def show_json(deployment, cloud, *args):
    return json.loads(ok(openstack(deployment, cloud, 'preference', 'show',
                                   *args, '-f', 'json')))


# The distribution --------------------------------------------------------

CLOSURE = '''
import json, re, sys
from importlib import metadata
from packaging.requirements import Requirement

def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()

seen, todo = set(), [norm(n) for n in sys.argv[1:]]
while todo:
    name = todo.pop()
    if name in seen:
        continue
    seen.add(name)
    for text in metadata.distribution(name).requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({'extra': ''}):
            todo.append(norm(req.name))
print(json.dumps(sorted(seen)))
'''


def test_client_and_osc_pull_in_no_server_dependency():
    result = subprocess.run(
        [venv_command('python'), '-c', CLOSURE, 'python-cloudprefsclient',
         'python-openstackclient'],
        capture_output=True, text=True, timeout=60, check=True)
    closure = set(json.loads(result.stdout))
    assert {'keystoneauth1', 'osc-lib', 'python-cloudprefsclient'} <= closure
    assert not closure & SERVER_ONLY, closure & SERVER_ONLY
    imported = subprocess.run(
        [venv_command('python'), '-c',
         'import sys, cloudprefsclient.client, cloudprefsclient.osc.plugin,'
         ' cloudprefsclient.osc.v1.preferences;'
         ' print(" ".join(sorted(sys.modules)))'],
        capture_output=True, text=True, timeout=60, check=True)
    modules = set(imported.stdout.split())
    for server_module in ('eventlet', 'pymongo', 'sqlalchemy',
                          'keystonemiddleware', 'webob', 'cloudprefs'):
        assert server_module not in modules


# The library's own suite, in the client's environment ---------------------

def test_library_suite_against_the_deployment(deployment):
    result = subprocess.run(
        [venv_command('python'), '-m', 'pytest', '-q', '-p',
         'no:cacheprovider', '-rfEs',
         os.path.join(REPOSITORY, 'client', 'cloudprefsclient', 'tests')],
        env=deployment['env'], capture_output=True, text=True,
        timeout=600, cwd=os.path.join(REPOSITORY, 'client'))
    print(result.stdout[-5000:], result.stderr[-2000:])
    assert result.returncode == 0
    summary = result.stdout.strip().splitlines()[-1]
    assert ' passed' in summary
    assert 'skipped' not in summary and 'failed' not in summary


# openstack preference ... ------------------------------------------------

def preference(deployment, cloud, *args, stdin=None):
    return openstack(deployment, cloud, 'preference', *args, stdin=stdin)


def test_seed_examples_with_the_openstack_command(deployment):
    def run(*args):
        return ok(preference(deployment, 'alice', *args))

    run('purge', '--yes-i-really-mean-it')
    run('set', 'defaults', '--value', '{}')
    run('set', 'defaults', '--merge', '--value',
        '{"build_config": ["monitoring", "backup"]}')
    run('set', 'defaults', 'passwords/root', '--value', '"secretpassword"')
    assert json.loads(run('list', '-f', 'json')) == [{'Name': 'defaults'}]
    assert show_json(deployment, 'alice', 'defaults') == {
        'build_config': ['monitoring', 'backup'],
        'passwords': {'root': 'secretpassword'}}
    assert show_json(deployment, 'alice', 'defaults',
                     'passwords/root') == 'secretpassword'
    table = run('show', 'defaults')
    assert 'build_config' in table and '["monitoring","backup"]' in table
    assert '{"root":"secretpassword"}' in table
    run('delete', 'defaults', 'passwords/root')
    assert show_json(deployment, 'alice', 'defaults', 'passwords') == {}
    run('delete', 'defaults')
    missing = preference(deployment, 'alice', 'show', 'defaults')
    assert missing.returncode != 0
    assert 'cloudprefs.not_found' in missing.stderr
    assert 'Request-ID: req-' in missing.stderr


def test_set_replaces_merges_and_reads_files_and_properties(
        deployment, tmp_path):
    def run(*args, stdin=None):
        return ok(preference(deployment, 'bob', *args, stdin=stdin))

    run('purge', '--yes-i-really-mean-it')
    run('set', 'c', '--value', '{"a": {"x": 1}, "b": 1}')
    run('set', 'c', '--value', '{"a": {"y": 2}}')          # replaces
    assert show_json(deployment, 'bob', 'c') == {'a': {'y': 2}}
    run('set', 'c', 'a', '--merge', '--value', '{"z": 3, "y": null}')
    assert show_json(deployment, 'bob', 'c') == {'a': {'z': 3}}
    document = tmp_path / 'value.json'
    document.write_text('{"from": "file", "n": [1, 2]}')
    run('set', 'c', 'nested/deep', '--file', str(document))
    run('set', 'c', 'piped', '--file', '-', stdin='[true, null]')
    run('set', 'c', '--property', 'theme=dark', '--property', 'size=3',
        '--property', 'quoted="3"')
    run('set', 'c', 'ui', '--property', 'a/b=1', '--property', 'p%=x')
    run('set', 'c', 'k%2Fwith%2Fslash', '--value', '0')
    assert show_json(deployment, 'bob', 'c') == {
        'a': {'z': 3}, 'nested': {'deep': {'from': 'file', 'n': [1, 2]}},
        'piped': [True, None], 'theme': 'dark', 'size': 3, 'quoted': '3',
        'ui': {'a/b': 1, 'p%': 'x'}, 'k/with/slash': 0}
    refused = preference(deployment, 'bob', 'set', 'c', '--value', '[1]')
    assert refused.returncode != 0 and 'JSON object' in refused.stderr
    invalid = preference(deployment, 'bob', 'set', 'c', 'k', '--value', '{')
    assert invalid.returncode != 0 and 'not valid JSON' in invalid.stderr
    yaml_text = run('show', 'c', 'nested', '-f', 'yaml')
    assert yaml.safe_load(yaml_text) == {'deep': {'from': 'file',
                                                  'n': [1, 2]}}


def test_list_pages_long_listing_and_conditional_writes(deployment):
    def run(*args):
        return ok(preference(deployment, 'bob', *args))

    run('purge', '--yes-i-really-mean-it')
    for name in ('c1', 'c2', 'c3', 'other'):
        run('set', name, '--value', '{"n": "%s"}' % name)
    names = lambda text: [row['Name'] for row in json.loads(text)]  # noqa
    assert names(run('list', '-f', 'json', '--prefix', 'c', '--limit',
                     '2')) == ['c1', 'c2']
    assert names(run('list', '-f', 'json', '--marker', 'c2')) == [
        'c3', 'other']
    long_rows = json.loads(run('list', '--long', '-f', 'json'))
    assert [row['Bytes'] for row in long_rows] == [
        len('{"n":"c1"}')] * 3 + [len('{"n":"other"}')]
    assert [row['Expires At'] for row in long_rows] == [None] * 4
    # Before 1.2 the same rows come from one HEAD per container.
    assert json.loads(ok(openstack(
        deployment, 'bob', '--os-preference-api-version', '1.1',
        'preference', 'list', '--long', '-f', 'json'))) == [
            {key: row[key] for key in ('Name', 'Bytes', 'Revision')}
            for row in long_rows]
    revision = long_rows[0]['Revision']
    assert revision and '"' not in revision
    run('set', 'c1', 'n', '--value', '1', '--if-match', revision)
    stale = preference(deployment, 'bob', 'set', 'c1', 'n', '--value', '2',
                       '--if-match', revision)
    assert stale.returncode != 0
    assert 'cloudprefs.precondition_failed' in stale.stderr
    stale_delete = preference(deployment, 'bob', 'delete', 'c1',
                              '--if-match', revision)
    assert stale_delete.returncode != 0
    assert show_json(deployment, 'bob', 'c1') == {'n': 1}


def test_usage_user_option_and_purge(deployment):
    alice = deployment['user_ids']['alice']
    ok(preference(deployment, 'alice', 'purge', '--yes-i-really-mean-it'))
    ok(preference(deployment, 'alice', 'set', 'mine', '--value',
                  '{"a": 1}'))
    usage = json.loads(ok(preference(deployment, 'alice', 'usage', '-f',
                                     'json')))
    assert usage == {'Containers': 1, 'Bytes': len('{"a":1}'),
                     'Container Quota': CONTAINER_QUOTA,
                     'Bytes Quota': 64 * 1024 * 1024}
    forbidden = preference(deployment, 'bob', 'show', 'mine', '--user',
                           alice)
    assert forbidden.returncode != 0
    assert 'cloudprefs.forbidden' in forbidden.stderr
    assert show_json(deployment, 'dave', 'mine', '--user', alice) == {
        'a': 1}
    ok(preference(deployment, 'dave', 'set', 'mine', 'b', '--value', '2',
                  '--user', alice))
    admin_usage = json.loads(ok(preference(
        deployment, 'dave', 'usage', '--user', alice, '-f', 'json')))
    assert admin_usage['Containers'] == 1
    unconfirmed = preference(deployment, 'dave', 'purge', '--user', alice)
    assert unconfirmed.returncode != 0
    assert '--yes-i-really-mean-it' in unconfirmed.stderr
    assert show_json(deployment, 'alice', 'mine') == {'a': 1, 'b': 2}
    ok(preference(deployment, 'dave', 'purge', '--user', alice,
                  '--yes-i-really-mean-it'))
    assert json.loads(ok(preference(deployment, 'alice', 'list', '-f',
                                    'json'))) == []


def test_changes_and_watch_commands(deployment):
    ok(preference(deployment, 'bob', 'purge', '--yes-i-really-mean-it'))
    listed = preference(deployment, 'bob', 'changes', '-f', 'json')
    cursor = re.search(r'Next cursor: ([0-9]+)', listed.stderr).group(1)
    ok(preference(deployment, 'bob', 'set', 'seen', '--value', '{}'))
    ok(preference(deployment, 'bob', 'set', 'gone', '--value', '{}'))
    ok(preference(deployment, 'bob', 'delete', 'gone'))
    changes = preference(deployment, 'bob', 'changes', '--since', cursor,
                         '-f', 'json')
    rows = json.loads(ok(changes))
    assert [(row['Container'], row['Deleted']) for row in rows] == [
        ('seen', False), ('gone', True)]
    assert rows[0]['ETag'].startswith('"')
    later = re.search(r'Next cursor: ([0-9]+)', changes.stderr).group(1)
    assert int(later) > int(cursor)
    # watch: times out with an error, or shows the new value.
    quiet = preference(deployment, 'bob', 'watch', 'seen', '--wait', '1')
    assert quiet.returncode != 0 and 'No change within 1' in quiet.stderr
    watcher = subprocess.Popen(
        [venv_command('openstack'), '--os-cloud', 'bob', 'preference',
         'watch', 'seen', '--wait', '30', '-f', 'json'],
        env=deployment['env'], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # Until the command has read the revision it waits on, a write
        # could come before it: write until it answers.
        for value in range(60):
            ok(preference(deployment, 'bob', 'set', 'seen', 'n',
                          '--value', str(value)))
            try:
                out, err = watcher.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert 'n' in json.loads(out)


def test_api_version_option(deployment):
    for version in ('1', '1.0', '1.1'):
        known = openstack(deployment, 'alice', '--os-preference-api-version',
                          version, 'preference', 'list', '-f', 'json')
        assert known.returncode == 0, known.stderr
    for version in ('9', '1.99'):
        unknown = openstack(deployment, 'alice',
                            '--os-preference-api-version', version,
                            'preference', 'list')
        assert unknown.returncode != 0
        assert 'preference' in unknown.stderr.lower()


def test_patch_applies_a_json_patch(deployment, tmp_path):
    def run(*args, **kwargs):
        return ok(preference(deployment, 'bob', *args, **kwargs))

    run('set', 'patched', '--value', '{"theme": "dark", "recent": []}')
    run('patch', 'patched', '--value',
        '[{"op": "test", "path": "/theme", "value": "dark"},'
        ' {"op": "replace", "path": "/theme", "value": "light"},'
        ' {"op": "add", "path": "/recent/-", "value": "a.txt"}]')
    assert show_json(deployment, 'bob', 'patched') == {
        'theme': 'light', 'recent': ['a.txt']}
    failed = preference(deployment, 'bob', 'patch', 'patched', '--value',
                        '[{"op": "test", "path": "/theme", "value": "x"}]')
    assert failed.returncode != 0
    assert 'cloudprefs.patch_conflict' in failed.stderr
    run('patch', 'patched', '--file', '-',
        stdin='[{"op": "remove", "path": "/recent"}]')
    assert show_json(deployment, 'bob', 'patched') == {'theme': 'light'}
    # Pinned below 1.1: said before anything is sent.
    old = openstack(deployment, 'bob', '--os-preference-api-version', '1.0',
                    'preference', 'patch', 'patched', '--value', '[]')
    assert old.returncode != 0 and '1.1' in old.stderr


def test_layers_with_the_openstack_command(deployment):
    name = 'layered-' + uuid.uuid4().hex[:8]
    demo = deployment['keystone'].ensure_project('demo')

    def run(cloud, *args):
        return ok(preference(deployment, cloud, *args))

    run('dave', 'set', name, '--scope', 'cloud', '--value',
        '{"editor": "vi", "theme": "light"}')
    run('carol', 'set', name, 'theme', '--scope', 'project', '--value',
        '"dark"')
    run('alice', 'set', name, 'editor', '--value', 'null')
    assert show_json(deployment, 'alice', name, '--effective') == {
        'theme': 'dark'}
    assert show_json(deployment, 'alice', name, 'theme',
                     '--effective') == 'dark'
    assert show_json(deployment, 'alice', name, '--scope', 'project') == {
        'theme': 'dark'}
    assert show_json(deployment, 'bob', name, '--scope', 'cloud') == {
        'editor': 'vi', 'theme': 'light'}
    assert show_json(deployment, 'dave', name, '--scope', 'project',
                     '--project', demo) == {'theme': 'dark'}
    listed = json.loads(run('alice', 'list', '--effective', '--prefix',
                            name, '-f', 'json'))
    assert listed == [{'Name': name}]
    refused = preference(deployment, 'alice', 'set', name, '--scope',
                         'project', '--value', '{}')
    assert refused.returncode != 0
    assert 'cloudprefs.forbidden' in refused.stderr
    mismatched = preference(deployment, 'dave', 'show', name, '--project',
                            demo)
    assert mismatched.returncode != 0
    assert '--scope project' in mismatched.stderr
    old = openstack(deployment, 'alice', '--os-preference-api-version',
                    '1.3', 'preference', 'show', name, '--effective')
    assert old.returncode != 0 and '1.4' in old.stderr
    run('dave', 'delete', name, '--scope', 'cloud')
    assert show_json(deployment, 'alice', name, '--effective') == {
        'theme': 'dark'}


def test_set_makes_a_container_expire(deployment):
    def run(*args):
        return ok(preference(deployment, 'bob', *args))

    run('set', 'brief', '--value', '{"a": 1}', '--delete-after', '1')
    deadline = time.monotonic() + 10
    while preference(deployment, 'bob', 'show', 'brief').returncode == 0:
        assert time.monotonic() < deadline, 'brief did not expire'
        time.sleep(0.2)
    run('set', 'brief', '--value', '{"a": 2}', '--delete-after', '3600')

    def expires_at():
        row, = json.loads(run('list', '--long', '--prefix', 'brief', '-f',
                              'json'))
        return row['Expires At']
    shown = calendar.timegm(time.strptime(expires_at()[:19],
                                          '%Y-%m-%dT%H:%M:%S'))
    assert abs(shown - (time.time() + 3600)) < 120, expires_at()
    run('set', 'brief', 'b', '--value', '3', '--no-expiry')
    assert expires_at() is None
    assert show_json(deployment, 'bob', 'brief') == {'a': 2, 'b': 3}
    old = openstack(deployment, 'bob', '--os-preference-api-version', '1.2',
                    'preference', 'set', 'brief', '--value', '{}',
                    '--delete-after', '60')
    assert old.returncode != 0 and '1.3' in old.stderr


# The tempest plugin -------------------------------------------------------

def tempest_config(deployment):
    keystone = deployment['keystone']
    return {
        'DEFAULT': {'log_file': 'tempest.log'},
        'auth': {'use_dynamic_credentials': 'true',
                 'admin_username': 'admin',
                 'admin_password': keystone_support.ADMIN_PASSWORD,
                 'admin_project_name': 'admin',
                 'admin_domain_name': 'Default'},
        'identity': {'uri_v3': keystone.auth_url, 'auth_version': 'v3',
                     'region': 'RegionOne'},
        'identity-feature-enabled': {'api_v2': 'false'},
        'service_available': {'cloudprefs': 'true', 'nova': 'false',
                              'neutron': 'false', 'glance': 'false',
                              'cinder': 'false', 'swift': 'false'},
        'preferences': {'max_container_size': str(MAX_CONTAINER_SIZE),
                        'containers_per_user': str(CONTAINER_QUOTA)},
    }


def test_tempest_plugin_against_the_deployment(deployment, tmp_path):
    workspace = tmp_path / 'tempest'
    # A workspace registry of the test's own, not ~/.tempest's.
    subprocess.run([venv_command('tempest'), 'init', '--workspace-path',
                    str(tmp_path / 'workspaces.yaml'), '--name',
                    tmp_path.name, str(workspace)],
                   check=True, capture_output=True, timeout=120)
    config.write_config_file(str(workspace / 'etc' / 'tempest.conf'),
                             tempest_config(deployment))
    listed = subprocess.run(
        [venv_command('tempest'), 'run', '--list-tests', '--regex',
         'cloudprefs'], cwd=workspace, capture_output=True, text=True,
        timeout=300)
    tests = [line for line in listed.stdout.splitlines()
             if line.startswith('cloudprefs_tempest_plugin.')]
    assert len(tests) == 20, listed.stdout + listed.stderr
    result = subprocess.run(
        [venv_command('tempest'), 'run', '--regex', 'cloudprefs',
         '--concurrency', '2'], cwd=workspace, capture_output=True,
        text=True, timeout=600)
    print(result.stdout[-6000:], result.stderr[-3000:])
    assert result.returncode == 0
    assert "- Passed: 20" in result.stdout
    assert '- Failed: 0' in result.stdout
    assert '- Skipped: 0' in result.stdout
