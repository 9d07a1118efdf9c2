"""How the SQL driver sorts and retries database errors."""

import psycopg2
import psycopg2.errors
import pymysql
import pytest
from sqlalchemy import exc as sa_exc

from cloudprefs.storage import exceptions
from cloudprefs.storage import sql
from cloudprefs.storage import sql_client
from tests.support.config import make_conf


def wrap(orig, kind=sa_exc.OperationalError, invalidated=False):
    return kind('SELECT 1', {}, orig, connection_invalidated=invalidated)


def pg_error(pgcode):
    """A psycopg2 error as the server sends it (pgcode is set by the
    client library from the server's SQLSTATE; it cannot be set on an
    instance made here)."""
    error_class = type('ServerError', (psycopg2.errors.lookup(pgcode),),
                       {'pgcode': pgcode})
    return error_class('message')


@pytest.mark.parametrize('error, kind', [
    (wrap(pymysql.err.OperationalError(1213, 'Deadlock found')),
     'transient'),
    (wrap(pymysql.err.OperationalError(1205, 'Lock wait timeout')),
     'transient'),
    (wrap(pymysql.err.OperationalError(2013, 'Lost connection')),
     'connection'),
    (wrap(pymysql.err.OperationalError(2003, "Can't connect")),
     'connection'),
    (wrap(pymysql.err.OperationalError(1047, 'WSREP has not yet prepared')),
     'connection'),
    (wrap(pymysql.err.ProgrammingError(1146, "Table doesn't exist"),
          sa_exc.ProgrammingError), 'permanent'),
    (wrap(pg_error('40P01')), 'transient'),
    (wrap(pg_error('40001')), 'transient'),
    (wrap(pg_error('57P01')), 'connection'),
    (wrap(pg_error('08006')), 'connection'),
    (wrap(pg_error('42P01'), sa_exc.ProgrammingError), 'permanent'),
    (wrap(psycopg2.OperationalError('could not connect to server')),
     'connection'),
    (wrap(psycopg2.OperationalError('x'), invalidated=True), 'connection'),
    (wrap(Exception('database is locked')), 'transient'),
])
def test_classify(error, kind):
    assert sql_client.classify(error) == kind


PG_NO_ANSWER = (psycopg2.OperationalError, psycopg2.InterfaceError)


@pytest.mark.parametrize('error, kind', [
    # Raised by statements run on a bare DBAPI connection (the hot path).
    (pg_error('40P01'), 'transient'),
    (pg_error('57P01'), 'connection'),
    (pg_error('42P01'), 'permanent'),
    (psycopg2.OperationalError('server closed the connection'),
     'connection'),
    (psycopg2.InterfaceError('connection already closed'), 'connection'),
    (psycopg2.IntegrityError('duplicate key'), 'permanent'),
    (pymysql.err.OperationalError(1213, 'Deadlock found'), 'transient'),
    (pymysql.err.OperationalError(2006, 'MySQL server has gone away'),
     'connection'),
])
def test_classify_dbapi_errors(error, kind):
    assert sql_client.classify(error, PG_NO_ANSWER) == kind


class FlakyEngine:
    """Fails the first ``failures`` connections with ``error``."""

    def __init__(self, engine, error, failures):
        self.engine = engine
        self.error = error
        self.failures = failures

    def _fail(self):
        if self.failures:
            self.failures -= 1
            raise self.error

    def connect(self):
        self._fail()
        return self.engine.connect()

    def raw_connection(self):
        self._fail()
        return self.engine.raw_connection()

    def dispose(self):
        self.engine.dispose()

    def __getattr__(self, name):
        return getattr(self.engine, name)


@pytest.fixture
def driver(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    storage = sql.SQLDriver(url, make_conf(url))
    storage.prepare()
    yield storage
    storage.close()


def test_transient_errors_are_retried(driver):
    deadlock = wrap(pymysql.err.OperationalError(1213, 'Deadlock found'))
    driver._client.engine = FlakyEngine(driver._client.engine, deadlock, 3)
    driver.set_value('u', 'c', ['k'], 1)
    assert driver.get_container('u', 'c').value == {'k': 1}
    assert driver._client.engine.failures == 0


def test_permanent_errors_are_not_retried(driver):
    error = wrap(pymysql.err.ProgrammingError(1146, 'no table'),
                 sa_exc.ProgrammingError)
    driver._client.engine = FlakyEngine(driver._client.engine, error, 2)
    with pytest.raises(exceptions.BackendError):
        driver.get_container('u', 'c')
    assert driver._client.engine.failures == 1


def test_retries_stop_at_the_timeout(driver):
    lost = wrap(pymysql.err.OperationalError(2013, 'Lost connection'))
    driver.operation_timeout = 0.3
    driver._client.engine = FlakyEngine(driver._client.engine, lost, 10 ** 6)
    with pytest.raises(exceptions.BackendUnavailable):
        driver.list_containers('u')
    assert driver._client.engine.failures < 10 ** 6 - 3
