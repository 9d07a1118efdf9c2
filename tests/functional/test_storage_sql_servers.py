"""The storage contract on MariaDB and PostgreSQL (real servers)."""

import pytest
import sqlalchemy as sa

from cloudprefs.storage import sql
from cloudprefs.storage import sql_tables
from tests import storage_contract
from tests.support.config import DriverFactory
from tests.support.config import make_conf
from tests.support import network
from tests.support import sqlservers

# Room for containers the path index covers (64 KiB and more).
MAX_CONTAINER_SIZE = 1024 * 1024


@pytest.fixture(scope='module', params=['postgresql', 'mysql'])
def dialect(request):
    return request.param


@pytest.fixture(scope='module')
def migrated_url(dialect, sql_database):
    url = sql_database(dialect)
    driver = sql.SQLDriver(url, make_conf(url))
    driver.upgrade()
    driver.close()
    return url


@pytest.fixture
def driver_factory(migrated_url):
    engine = sa.create_engine(migrated_url)
    with engine.begin() as connection:
        for table in sql_tables.metadata.sorted_tables:
            connection.execute(sa.delete(table))
    engine.dispose()
    factory = DriverFactory(sql.SQLDriver, migrated_url,
                            max_container_size=MAX_CONTAINER_SIZE)
    yield factory
    factory.close()


@pytest.fixture
def proxied_driver_factory(migrated_url, dialect, driver_factory):
    """Drivers through a proxy the test owns (driver_factory has emptied
    the tables)."""
    proxy = network.TCPProxy(*sqlservers.server_address(dialect))
    factory = DriverFactory(
        sql.SQLDriver,
        sqlservers.with_address(migrated_url, '127.0.0.1', proxy.port),
        max_container_size=MAX_CONTAINER_SIZE)
    factory.proxy = proxy
    yield factory
    factory.close()
    proxy.close()


@pytest.fixture
def unavailable_driver(dialect):
    scheme = {'postgresql': 'postgresql+psycopg2://postgres',
              'mysql': 'mysql+pymysql://root'}[dialect]
    url = '%s@127.0.0.1:%d/cloudprefs' % (scheme, network.free_port())
    conf = make_conf(url)
    conf.set_override('timeout', 0.5, group='database')
    conf.set_override('operation_timeout', 0.5, group='database')
    storage = sql.SQLDriver(url, conf)
    yield storage
    storage.close()


@pytest.fixture
def fault_patterns(dialect):
    return {'read': b'SELECT containers.revision',
            'write': b'UPDATE containers SET',
            # PostgreSQL writes with usage in one statement (a CTE).
            'durable': b'WITH usage AS' if dialect == 'postgresql'
            else b'COMMIT'}


class TestSQLServerContract(storage_contract.StorageContract,
                            storage_contract.NetworkFaultContract):
    pass


def _kill_other_sessions(dialect, url):
    """What a server restart or an administrator does to idle pooled
    connections: the server ends them."""
    database = sa.engine.make_url(url).database
    engine = sa.create_engine(url, isolation_level='AUTOCOMMIT',
                              poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        if dialect == 'postgresql':
            killed = connection.execute(sa.text(
                'SELECT count(pg_terminate_backend(pid)) '
                'FROM pg_stat_activity WHERE datname = :database '
                'AND pid <> pg_backend_pid()'), {'database': database}
            ).scalar()
        else:
            ids = connection.execute(sa.text(
                'SELECT ID FROM information_schema.PROCESSLIST '
                'WHERE DB = :database AND ID <> CONNECTION_ID()'),
                {'database': database}).scalars().all()
            for session_id in ids:
                connection.execute(sa.text('KILL %d' % session_id))
            killed = len(ids)
    engine.dispose()
    return killed


def test_connections_the_server_ends_are_replaced(dialect, driver_factory,
                                                  migrated_url):
    driver = driver_factory()
    driver.merge('u', 'c', {'k': 1})
    assert _kill_other_sessions(dialect, migrated_url) >= 1
    assert driver.get_container('u', 'c').value == {'k': 1}
    assert _kill_other_sessions(dialect, migrated_url) >= 1
    driver.set_value('u', 'c', ['k'], 2)
    assert driver_factory().get_container('u', 'c').value == {'k': 2}
