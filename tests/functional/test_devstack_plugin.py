"""The devstack plugin, run phase by phase by a harness that records the
devstack functions it calls (no devstack needed)."""

import configparser
import os
import shutil
import subprocess

import pytest

from cloudprefs.service import startup

SCRIPTS = ['devstack/plugin.sh', 'devstack/settings',
           'tests/devstack/harness.sh']


def run_harness(workdir, **environment):
    env = dict(os.environ, **environment)
    result = subprocess.run(['bash', 'tests/devstack/harness.sh',
                             str(workdir)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    calls = (workdir / 'calls.log').read_text().splitlines()
    conf = configparser.RawConfigParser()
    conf.read(workdir / 'cloudprefs.conf.generated')
    uwsgi = configparser.RawConfigParser()
    uwsgi.read(workdir / 'uwsgi.ini.generated')
    return calls, conf, uwsgi


def phase_calls(calls, phase):
    start = calls.index('== phase ' + phase)
    rest = calls[start + 1:]
    end = next((i for i, line in enumerate(rest)
                if line.startswith('== phase')), len(rest))
    return rest[:end]


@pytest.mark.parametrize('script', SCRIPTS)
def test_scripts_parse_and_pass_shellcheck(script):
    subprocess.run(['bash', '-n', script], check=True)
    shellcheck = shutil.which('shellcheck')
    assert shellcheck, 'shellcheck is missing: run tools/test-setup.sh'
    result = subprocess.run([shellcheck, '-s', 'bash', script],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_phases_with_devstack_database(tmp_path):
    calls, conf, uwsgi = run_harness(tmp_path)
    repository = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    assert phase_calls(calls, 'stack install')[-2:] == [
        'setup_develop %s' % repository,
        'setup_develop %s' % os.path.join(repository, 'client')]
    assert not (tmp_path / 'tempest.conf').exists()
    post_config = phase_calls(calls, 'stack post-config')
    assert 'create_service_user cloudprefs' in post_config
    assert ('get_or_create_service cloudprefs preferences Cloud Preferences:'
            ' per-user JSON storage') in post_config
    assert ('get_or_create_endpoint service-id-1234 RegionOne '
            'http://192.0.2.10/preferences') in post_config
    extra = phase_calls(calls, 'stack extra')
    assert extra.index('recreate_database cloudprefs') < next(
        i for i, line in enumerate(extra) if line.endswith(' db_sync'))
    assert any(line.startswith('run_process cloudprefs-api ')
               and '--ini' in line for line in extra)
    # The Keystone listener runs after Keystone restarted with the
    # notification settings.
    listener = [line for line in extra
                if line.startswith('run_process cloudprefs-keystone-listener')]
    assert listener == [
        'run_process cloudprefs-keystone-listener %s/bin/'
        'cloudprefs-keystone-listener --config-file %s'
        % (tmp_path, tmp_path / 'etc' / 'cloudprefs' / 'cloudprefs.conf')]
    assert extra.index('restart_service devstack@keystone') < extra.index(
        listener[0])
    assert 'get_or_add_user_system_role reader cloudprefs all' in \
        phase_calls(calls, 'stack post-config')
    keystone_conf = configparser.RawConfigParser()
    keystone_conf.read(tmp_path / 'keystone.conf')
    assert keystone_conf.get('oslo_messaging_notifications',
                             'driver') == 'messagingv2'
    assert keystone_conf.get('oslo_messaging_notifications',
                             'transport_url').startswith('rabbit://')
    assert keystone_conf.get('oslo_messaging_rabbit',
                             'amqp_durable_queues') == 'True'
    assert 'wait_for_service 60 http://192.0.2.10/preferences' in extra
    assert phase_calls(calls, 'unstack') == [
        'stop_process cloudprefs-keystone-listener',
        'stop_process cloudprefs-api']
    assert any(line.startswith('remove_uwsgi_config ')
               for line in phase_calls(calls, 'clean'))
    assert not phase_calls(calls, 'stack pre-install')

    assert conf.get('DEFAULT', 'auth_strategy') == 'keystone'
    assert conf.get('database', 'connection').startswith(
        'mysql+pymysql://root:db-secret@127.0.0.1/cloudprefs')
    assert conf.get('keystone_authtoken', 'memcached_servers') == (
        '192.0.2.10:11211')
    assert conf.get('oslo_messaging_notifications', 'driver') == (
        'messagingv2')
    assert conf.get('oslo_messaging_notifications',
                    'transport_url').startswith('rabbit://')
    assert conf.get('service_credentials', 'system_scope') == 'all'
    assert conf.get('service_credentials', 'username') == 'cloudprefs'
    assert uwsgi.get('uwsgi', 'module') == 'cloudprefs.wsgi.api:application'
    # Threads to hold long-polls on, and no harakiri under a held one.
    assert uwsgi.get('uwsgi', 'threads') == '32'
    assert int(uwsgi.get('uwsgi', 'harakiri')) > 60
    # No application but ours, whatever a packet on the socket asks.
    assert uwsgi.get('uwsgi', 'max-apps') == '1'
    assert uwsgi.get('uwsgi', 'env') == (
        'CLOUDPREFS_CONFIG_FILE=%s'
        % (tmp_path / 'etc' / 'cloudprefs' / 'cloudprefs.conf'))

    # The written configuration is one the service accepts as it is.
    loaded = startup.prepare_conf(
        ['--config-file', str(tmp_path / 'cloudprefs.conf.generated')],
        default_config_files=[], command_line=False)
    startup.check_auth_strategy(loaded)
    assert loaded.keystone_authtoken.username == 'cloudprefs'
    assert loaded.service_credentials.auth_type == 'password'
    assert loaded.keystone_listener.exchange == 'keystone'


def test_test_config_phase_configures_tempest(tmp_path):
    tempest_conf = tmp_path / 'tempest.conf'
    run_harness(tmp_path, TEMPEST_CONFIG=str(tempest_conf))
    tempest = configparser.RawConfigParser()
    tempest.read(tempest_conf)
    assert tempest.get('service_available', 'cloudprefs') == 'True'
    assert tempest.get('preferences', 'catalog_type') == 'preferences'
    assert tempest.get('preferences', 'region') == 'RegionOne'


def test_phases_with_external_mongodb(tmp_path):
    url = 'mongodb://db1:27017,db2:27017/cloudprefs?replicaSet=rs0'
    calls, conf, _uwsgi = run_harness(tmp_path, CLOUDPREFS_MONGODB_URL=url)
    assert conf.get('database', 'connection') == url
    assert not any(line.startswith(('recreate_database',
                                    'database_connection_url'))
                   for line in calls)
    assert any(line.endswith(' db_sync') for line in calls)
