"""The wheel installs into an empty virtualenv and serves from there,
with nothing but what the wheel carries (the packaged api-paste.ini)."""

import glob
import os
import subprocess
import sys
import venv

import requests

from tests.support import api_server
from tests.support import config
from tests.support import network

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_wheel_installs_and_serves_from_an_empty_virtualenv(tmp_path):
    dist = tmp_path / 'dist'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '-w', str(dist), REPOSITORY], check=True, timeout=300)
    wheel = glob.glob(str(dist / 'cloudprefs-*.whl'))
    assert len(wheel) == 1

    environment = tmp_path / 'venv'
    venv.create(environment, with_pip=True)
    python = str(environment / 'bin' / 'python')
    subprocess.run([python, '-m', 'pip', 'install', '-q', '-c',
                    os.path.join(REPOSITORY, 'upper-constraints.txt'),
                    wheel[0]], check=True, timeout=600)
    help_text = subprocess.run(
        [str(environment / 'bin' / 'cloudprefs-api'), '--help'],
        capture_output=True, text=True, check=True, timeout=60).stdout
    assert '--mongodb' in help_text and '--workers' in help_text
    subprocess.run([str(environment / 'bin' / 'cloudprefs-manage'),
                    '--help'], capture_output=True, check=True, timeout=60)

    # Run from a directory with no repository files around.
    workdir = tmp_path / 'run'
    workdir.mkdir()
    port = network.free_port()
    conf_path = config.write_config_file(str(workdir / 'cloudprefs.conf'), {
        'DEFAULT': {'auth_strategy': 'noauth', 'api_workers': '1',
                    'bind_host': '127.0.0.1', 'bind_port': str(port),
                    'state_path': str(workdir / 'state')}})
    server = api_server.ApiServer(str(workdir), None, cwd=str(workdir))
    server.port, server.base_url = port, 'http://127.0.0.1:%d' % port
    server.command = lambda: [str(environment / 'bin' / 'cloudprefs-api'),
                              '--config-file', conf_path]
    server.start()
    try:
        headers = {'X-User-Id': 'packaged'}
        assert requests.post(server.url('/v1/c/k'), data='1', headers=headers,
                             timeout=30).status_code == 204
        assert requests.get(server.url('/v1/c'), headers=headers,
                            timeout=30).json() == {'k': 1}
        assert requests.get(server.url('/openapi.json'),
                            timeout=30).json()['openapi'].startswith('3.1')
    finally:
        server.stop()
