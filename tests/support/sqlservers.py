"""Throw-away databases on the machine's PostgreSQL and MariaDB servers.

The servers are given by admin URLs (a user allowed to create databases);
defaults are the loopback servers tools/test-setup.sh provides. Set
``CLOUDPREFS_TEST_POSTGRESQL_URL`` or ``CLOUDPREFS_TEST_MYSQL_URL`` to use
other servers. A server that cannot be reached fails the tests.
"""

import os
import time
import uuid

import sqlalchemy as sa

ADMIN_URLS = {
    'postgresql': os.environ.get(
        'CLOUDPREFS_TEST_POSTGRESQL_URL',
        'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'),
    'mysql': os.environ.get(
        'CLOUDPREFS_TEST_MYSQL_URL',
        'mysql+pymysql://root@127.0.0.1:3306/mysql'),
}


def _admin_engine(dialect):
    return sa.create_engine(ADMIN_URLS[dialect], isolation_level='AUTOCOMMIT',
                            poolclass=sa.pool.NullPool)


def create_database(dialect):
    """Create an empty database; return its URL."""
    name = 'cloudprefs_test_' + uuid.uuid4().hex[:12]
    statement = ('CREATE DATABASE %s' if dialect == 'postgresql'
                 else 'CREATE DATABASE %s CHARACTER SET utf8mb4')
    engine = _admin_engine(dialect)
    with engine.connect() as connection:
        connection.execute(sa.text(statement % name))
    engine.dispose()
    return sa.engine.make_url(ADMIN_URLS[dialect]).set(
        database=name).render_as_string(hide_password=False)


def drop_database(dialect, url):
    name = sa.engine.make_url(url).database
    statement = ('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                 if dialect == 'postgresql' else 'DROP DATABASE IF EXISTS %s')
    engine = _admin_engine(dialect)
    with engine.connect() as connection:
        connection.execute(sa.text(statement % name))
    engine.dispose()


def server_address(dialect):
    url = sa.engine.make_url(ADMIN_URLS[dialect])
    return url.host or '127.0.0.1', url.port or (
        5432 if dialect == 'postgresql' else 3306)


def with_address(url, host, port):
    return sa.engine.make_url(url).set(host=host, port=port).render_as_string(
        hide_password=False)


class ConnectionCounter:
    """How many connections a database server has accepted so far.

    PostgreSQL: the sessions of one database (``pg_stat_database``, whose
    counters are published within about a second: :meth:`accepted`
    waits that long); MariaDB/MySQL: the server's ``Connections`` status
    (the whole server). Counting opens no connection of its own: one is
    kept for it.
    """

    SETTLE_SECONDS = 1.5

    def __init__(self, dialect, url):
        self.dialect = dialect
        self._engine = sa.create_engine(url, isolation_level='AUTOCOMMIT',
                                        poolclass=sa.pool.NullPool)
        self._connection = self._engine.connect()

    def accepted(self):
        if self.dialect == 'postgresql':
            time.sleep(self.SETTLE_SECONDS)
            statement = ('SELECT sessions FROM pg_stat_database '
                         'WHERE datname = current_database()')
        else:
            statement = ("SELECT VARIABLE_VALUE FROM information_schema."
                         "GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'")
        return int(self._connection.execute(sa.text(statement)).scalar())

    def close(self):
        self._connection.close()
        self._engine.dispose()
