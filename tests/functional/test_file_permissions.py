"""What the service writes to disk is for its own user only, whatever
the umask: the embedded database, its WAL and SHM files, the state
directory, and exports."""

import os
import sqlite3
import stat
import subprocess
import sys

import pytest
import requests

from tests.support import api_server
from tests.support import config


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)     # the common default: files 0644
    yield
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_embedded_database_is_private(tmp_path, loose_umask):
    server = api_server.ApiServer(str(tmp_path), connection=None).start()
    try:
        assert requests.post(server.url('/v1/c/k'), data='"secret"',
                             headers={'X-User-Id': 'u'},
                             timeout=30).status_code == 204
        state = tmp_path / 'state'
        database = state / 'cloudprefs.sqlite'
        assert mode(state) == 0o700
        for path in (database, str(database) + '-wal',
                     str(database) + '-shm'):
            assert mode(path) == 0o600, path
    finally:
        server.stop()


def test_an_export_is_private(tmp_path, loose_umask):
    conf_path = config.write_config_file(
        str(tmp_path / 'manage.conf'),
        {'DEFAULT': {'state_path': str(tmp_path / 'state')}})
    output = tmp_path / 'export.jsonl'
    output.write_text('old\n')
    os.chmod(output, 0o644)
    script = os.path.join(os.path.dirname(sys.executable),
                          'cloudprefs-manage')
    for path in (output, tmp_path / 'new-export.jsonl'):
        subprocess.run([script, '--config-file', conf_path, 'export',
                        '--output', str(path)], check=True,
                       capture_output=True, timeout=120)
        assert mode(path) == 0o600, path
    assert output.read_text() == ''


def test_other_processes_on_the_database_lose_no_write(tmp_path):
    """Regression: making the database file private opened and closed it
    again under the service's open SQLite connections, which dropped
    their POSIX locks. The next process to close the database then took
    itself for the last user and deleted the WAL file, and the service's
    later commits were lost."""
    server = api_server.ApiServer(str(tmp_path), connection=None).start()
    database = tmp_path / 'state' / 'cloudprefs.sqlite'
    script = os.path.join(os.path.dirname(sys.executable),
                          'cloudprefs-manage')
    try:
        for number in range(3):
            assert requests.post(
                server.url('/v1/c/k%d' % number), data='1',
                headers={'X-User-Id': 'u'}, timeout=30).status_code == 204
            # Another process opens the database and exits.
            subprocess.run([script, '--config-file', server.config_path,
                            'export', '--output', str(tmp_path / 'x')],
                           check=True, capture_output=True, timeout=120)
        with sqlite3.connect(str(database)) as connection:
            rows = connection.execute(
                'SELECT COUNT(*) FROM containers').fetchone()[0]
        assert rows == 1
        exported = (tmp_path / 'x').read_text()
        assert '"k2":1' in exported and '"k0":1' in exported
    finally:
        server.stop()
    restarted = api_server.ApiServer(str(tmp_path), connection=None,
                                     name='restarted').start()
    try:
        assert requests.get(restarted.url('/v1/c'), timeout=30, headers={
            'X-User-Id': 'u'}).json() == {'k0': 1, 'k1': 1, 'k2': 1}
    finally:
        restarted.stop()
