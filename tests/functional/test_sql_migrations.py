"""Schema migrations on every SQL dialect, and the start-up checks."""

import json
import logging
import subprocess
import sys

import pytest
import sqlalchemy as sa

from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import path_index
from cloudprefs.storage import sql
from cloudprefs.storage import sql_migration
from cloudprefs.storage import sql_tables
from tests.support import config
from tests.support.config import make_conf
from tests.support import sqlservers

OLD_ROWS = [
    ('alice', 'defaults', {'build_config': ['monitoring', 'backup']}),
    ('alice', 'é🦄', {'k\x00': 'ünïcödé 🦄', 'n': 2 ** 63 - 1}),
    ('bob', 'defaults', {}),
]


@pytest.fixture(params=['sqlite', 'postgresql', 'mysql'])
def empty_url(request, tmp_path):
    if request.param == 'sqlite':
        return 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    url = sqlservers.create_database(request.param)
    request.addfinalizer(
        lambda: sqlservers.drop_database(request.param, url))
    return url


def migrate(url, revision):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        sql_migration.upgrade(connection, revision)
        connection.commit()
        current = sql_migration.current_revision(connection)
    engine.dispose()
    return current


def test_upgrade_from_empty(empty_url):
    assert migrate(empty_url, 'head') == sql_migration.head_revision()
    assert migrate(empty_url, 'head') == sql_migration.head_revision()
    inspector = sa.inspect(sa.create_engine(empty_url))
    columns = {column['name']
               for column in inspector.get_columns('containers')}
    # The migrations make what the table model says.
    assert columns == {column.name
                       for column in sql_tables.containers.columns}
    assert 'expires_at' in columns
    assert 'containers_by_expiry' in {
        index['name'] for index in inspector.get_indexes('containers')}


def test_every_table_has_a_primary_key(empty_url):
    """Galera replicates a table without one badly (and refuses
    DELETEs of it under wsrep_certify_nonPK=off): every table the
    migrations make has one."""
    migrate(empty_url, 'head')
    inspector = sa.inspect(sa.create_engine(empty_url))
    tables = inspector.get_table_names()
    assert set(sql_tables.metadata.tables) <= set(tables)
    for table in tables:
        assert inspector.get_pk_constraint(table)['constrained_columns'], \
            table


def test_upgrade_from_first_revision_keeps_data(empty_url):
    assert migrate(empty_url, '0001') == '0001'
    engine = sa.create_engine(empty_url, poolclass=sa.pool.NullPool)
    old_table = sa.table('containers', sa.column('user_id'),
                         sa.column('name'), sa.column('revision'),
                         sa.column('modified_us'), sa.column('value'))
    with engine.begin() as connection:
        for index, (user, name, value) in enumerate(OLD_ROWS):
            connection.execute(sa.insert(old_table).values(
                user_id=user.encode(), name=name.encode(), revision=index + 1,
                modified_us=1000 + index,
                value=json.dumps(value, ensure_ascii=False,
                                 separators=(',', ':'))))
    engine.dispose()

    assert migrate(empty_url, 'head') == sql_migration.head_revision()
    driver = sql.SQLDriver(empty_url, make_conf(empty_url))
    try:
        exported = list(driver.export_containers())
        assert [(user, name, container.value, container.revision)
                for user, name, container in exported] == [
            (user, name, value, index + 1)
            for index, (user, name, value) in enumerate(OLD_ROWS)]
        engine = sa.create_engine(empty_url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            sizes = connection.execute(sa.text(
                'SELECT size FROM containers ORDER BY user_id, name'
            )).scalars().all()
        engine.dispose()
        assert sizes == [document.encoded_size(document.compact_json(value))
                         for _user, _name, value in OLD_ROWS]
        # The migrated store works as usual.
        driver.set_value('alice', 'defaults', ['new'], True)
        assert driver.get_container('alice', 'defaults').value['new'] is True
    finally:
        driver.close()


def test_rows_written_by_older_code_are_read_whole(empty_url,
                                                   monkeypatch):
    """During a rolling upgrade, code from before the path index (0003)
    writes rows of a migrated database: its UPDATE leaves the index of
    the value it replaces behind, which must then be ignored."""
    monkeypatch.setattr(path_index, 'INDEX_FROM_BYTES', 1)
    monkeypatch.setattr(path_index, 'BYTES_PER_ENTRY', 1)
    migrate(empty_url, 'head')
    driver = sql.SQLDriver(empty_url, make_conf(empty_url))
    try:
        driver.merge('u', 'c', {'a': 'old', 'b': {'x': 1}})
        assert driver.get_value('u', 'c', ['b', 'x']).value == 1
        engine = sa.create_engine(empty_url, poolclass=sa.pool.NullPool)
        older_code = sa.table('containers', sa.column('user_id'),
                              sa.column('name'), sa.column('revision'),
                              sa.column('value'), sa.column('size'))
        with engine.begin() as connection:
            connection.execute(
                sa.update(older_code)
                .where(older_code.c.user_id == b'u',
                       older_code.c.name == b'c')
                .values(revision=older_code.c.revision + 1, size=22,
                        value='{"b":{"x":22222},"a":0}'))
        engine.dispose()
        assert driver.get_value('u', 'c', ['b', 'x']).value == 22222
        assert driver.get_value('u', 'c', ['a']).value == 0
        assert driver.get_value('u', 'c', ['b']).text == '{"x":22222}'
    finally:
        driver.close()


def test_server_database_must_be_migrated(empty_url):
    if empty_url.startswith('sqlite'):
        # The embedded database migrates itself instead.
        driver = sql.SQLDriver(empty_url, make_conf(empty_url))
        driver.prepare()
        assert driver.schema_revision() == sql_migration.head_revision()
        driver.close()
        return
    for revision in (None, '0001'):
        if revision:
            migrate(empty_url, revision)
        driver = sql.SQLDriver(empty_url, make_conf(empty_url))
        with pytest.raises(exceptions.SchemaNotReady) as caught:
            driver.prepare()
        assert 'cloudprefs-manage db_sync' in str(caught.value)
        driver.close()


def test_newer_schema_starts_with_a_warning(empty_url, caplog):
    migrate(empty_url, 'head')
    engine = sa.create_engine(empty_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    driver = sql.SQLDriver(empty_url, make_conf(empty_url))
    try:
        with caplog.at_level(logging.WARNING):
            driver.prepare()
        assert 'newer than this code knows' in caplog.text
        driver.merge('u', 'c', {'a': 1})
        assert driver.get_container('u', 'c').value == {'a': 1}
    finally:
        driver.close()


def test_api_refuses_to_start_on_an_unmigrated_database(tmp_path):
    url = sqlservers.create_database('postgresql')
    try:
        conf_path = config.write_config_file(str(tmp_path / 'api.conf'), {
            'DEFAULT': {'auth_strategy': 'noauth'},
            'database': {'connection': url}})
        result = subprocess.run(
            [sys.executable, '-m', 'cloudprefs', '--config-file', conf_path,
             '--port', '1'], capture_output=True, text=True, timeout=60)
    finally:
        sqlservers.drop_database('postgresql', url)
    assert result.returncode != 0
    assert 'run "cloudprefs-manage db_sync"' in result.stderr
    assert 'Traceback' not in result.stderr
