"""cloudprefs-manage db_sync on each driver."""

import os
import sqlite3
import subprocess
import sys
import time

import pymongo

from cloudprefs import storage
from cloudprefs.storage import records
from tests.support import config


def manage(tmp_path, connection, *args):
    conf_path = config.write_config_file(
        str(tmp_path / 'manage.conf'),
        {'database': {'connection': connection}})
    script = os.path.join(os.path.dirname(sys.executable),
                          'cloudprefs-manage')
    return subprocess.run([script, '--config-file', conf_path, *args],
                          capture_output=True, text=True, timeout=60)


def test_db_sync_creates_the_sqlite_schema_twice(tmp_path):
    path = tmp_path / 'db.sqlite'
    for _ in range(2):
        result = manage(tmp_path, 'sqlite:///%s' % path, 'db_sync')
        assert result.returncode == 0, result.stderr
    tables = sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert ('containers',) in tables


def test_db_sync_makes_mongodb_indexes(tmp_path, mongodb_url):
    for _ in range(2):
        result = manage(tmp_path, mongodb_url, 'db_sync')
        assert result.returncode == 0, result.stderr
    client = pymongo.MongoClient(mongodb_url)
    try:
        database = client.get_default_database()
        indexes = database['containers'].index_information()
        assert indexes['user_container']['unique']
        assert indexes['user_container']['key'] == [('u', 1), ('c', 1)]
        client.drop_database(database)
    finally:
        client.close()


def test_db_sync_against_unreachable_database_fails_cleanly(tmp_path):
    result = manage(tmp_path, 'mongodb://127.0.0.1:9/x?directConnection=true'
                    '&serverSelectionTimeoutMS=500', 'db_sync')
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr


def test_usage_sync_lets_quota_recount(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    assert manage(tmp_path, url, 'db_sync').returncode == 0
    result = manage(tmp_path, url, 'usage_sync')
    assert result.returncode == 0, result.stderr
    assert 'recounted' in result.stdout


def test_expire_containers_deletes_what_expired(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    assert manage(tmp_path, url, 'db_sync').returncode == 0
    driver = storage.get_driver(config.make_conf(url))
    try:
        soon = records.now_s() + 1
        driver.merge('u', 'brief', {'a': 1}, expiry=records.Expiry(soon))
        driver.merge('u', 'kept', {}, expiry=records.Expiry(soon + 3600))
        position = driver.feed_position('u')
        while records.now_s() < soon:
            time.sleep(0.05)
        result = manage(tmp_path, url, 'expire_containers')
        assert result.returncode == 0, result.stderr
        assert 'Deleted 1 expired containers.' in result.stdout
        page = driver.changes_since('u', position, 10)
        assert [(entry.container, entry.revision)
                for entry in page.changes] == [('brief', None)]
        assert driver.list_containers('u') == ['kept']
        again = manage(tmp_path, url, 'expire_containers')
        assert 'Deleted 0 expired containers.' in again.stdout
    finally:
        driver.close()
