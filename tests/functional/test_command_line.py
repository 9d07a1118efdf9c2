"""cloudprefs-api's command line and start-up checks, as real processes."""

import os
import subprocess
import sys
import time
import uuid

import pymongo
import requests

from tests.support import api_server
from tests.support import config
from tests.support import mongodb


def run_api(*args, timeout=30):
    return subprocess.run([sys.executable, '-m', 'cloudprefs', *args],
                          capture_output=True, text=True, timeout=timeout)


def test_help_lists_the_original_flags():
    result = run_api('--help')
    assert result.returncode == 0
    for flag in ('--port', '--mongodb', '--mongodb-database',
                 '--config-file', '--config-dir'):
        assert flag in result.stdout


def test_console_script_is_the_same_program():
    script = os.path.join(os.path.dirname(sys.executable), 'cloudprefs-api')
    result = subprocess.run([script, '--help'], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0
    assert '--mongodb' in result.stdout


def test_keystone_without_settings_refuses_to_start(tmp_path):
    conf_path = config.write_config_file(
        str(tmp_path / 'cloudprefs.conf'),
        {'DEFAULT': {'state_path': str(tmp_path)}})
    result = run_api('--config-file', conf_path)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert '[keystone_authtoken]' in message
    assert 'auth_url' in message and 'noauth' in message
    assert 'Traceback' not in result.stderr


def test_noauth_warns_and_uses_embedded_sqlite(tmp_path):
    server = api_server.ApiServer(str(tmp_path), connection=None)
    server.start()
    try:
        headers = {'X-User-Id': 'u'}
        assert requests.post(server.url('/v1/c/k'), data='1', headers=headers,
                             timeout=10).status_code == 204
        assert os.path.exists(tmp_path / 'state' / 'cloudprefs.sqlite')
    finally:
        server.stop()
    assert 'identities are trusted from the X-User-Id' in server.log()


class MongoFlagServer(api_server.ApiServer):
    """An API started with --mongodb/--mongodb-database instead of a URL."""

    def __init__(self, workdir, hosts, database):
        super().__init__(workdir, connection='sqlite:////nonexistent/x.db')
        self.hosts = hosts
        self.database = database

    def command(self):
        return super().command() + ['--mongodb', self.hosts,
                                    '--mongodb-database', self.database]


def test_mongodb_flag_overrides_the_connection(tmp_path, mongodb_base_url):
    host, port = mongodb.first_host_port(mongodb_base_url)
    database = mongodb.unique_database()
    server = MongoFlagServer(str(tmp_path), '%s:%d' % (host, port), database)
    server.start()
    user = 'user-' + uuid.uuid4().hex
    try:
        assert requests.post(server.url('/v1/c/k'), data='"v"',
                             headers={'X-User-Id': user},
                             timeout=30).status_code == 204
    finally:
        server.stop()
    client = pymongo.MongoClient(mongodb_base_url)
    try:
        stored = client[database]['containers'].find_one({'u': user})
        assert stored['d'] == {'k': 'v'}
        client.drop_database(database)
    finally:
        client.close()


def test_port_flag_overrides_bind_port(tmp_path):
    # ApiServer sets bind_port in no file: --port alone decides; here the
    # file says another port and the flag must win.
    server = api_server.ApiServer(str(tmp_path), connection=None,
                                  sections={'DEFAULT': {'bind_port': '1'}})
    server.start()
    try:
        assert requests.get(server.url('/'), timeout=10).status_code == 200
    finally:
        server.stop()


def test_a_policy_file_that_does_not_parse_refuses_to_start(tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"cloudprefs:container:get": [unclosed\n')
    conf_path = config.write_config_file(
        str(tmp_path / 'cloudprefs.conf'),
        {'DEFAULT': {'state_path': str(tmp_path), 'auth_strategy': 'noauth'},
         'oslo_policy': {'policy_file': str(policy_file)}})
    result = run_api('--config-file', conf_path)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith('cloudprefs-api: cannot use the policy file')
    assert str(policy_file) in message
    assert 'Traceback' not in result.stderr


def test_a_bad_policy_edit_while_running_keeps_the_rules(tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"cloudprefs:container:get": "!"\n')
    server = api_server.ApiServer(
        str(tmp_path), connection=None,
        sections={'oslo_policy': {'policy_file': str(policy_file)}}).start()
    try:
        headers = {'X-User-Id': 'u-' + uuid.uuid4().hex}
        assert requests.post(server.url('/v1/c'), headers=headers,
                             timeout=30).status_code == 204
        assert requests.get(server.url('/v1/c'), headers=headers,
                            timeout=30).status_code == 403
        policy_file.write_text('"cloudprefs:container:get": [unclosed\n')
        time.sleep(6)      # past the policy check interval
        for _ in range(3):
            response = requests.get(server.url('/v1/c'), headers=headers,
                                    timeout=30)
            assert response.status_code == 403, response.text
    finally:
        server.stop()
    log = server.log()
    assert 'cannot be used' in log and 'Traceback' not in log
