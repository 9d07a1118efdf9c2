"""The storage contract on the embedded SQLite driver."""

import sqlite3
import threading
import time

import pytest

from cloudprefs.storage import exceptions
from cloudprefs.storage import sql
from tests import storage_contract
from tests.support.config import DriverFactory
from tests.support.config import make_conf

# Room for containers the path index covers (64 KiB and more).
MAX_CONTAINER_SIZE = 1024 * 1024


@pytest.fixture
def driver_factory(tmp_path):
    factory = DriverFactory(sql.SQLDriver,
                            'sqlite:///%s' % (tmp_path / 'cloudprefs.sqlite'),
                            max_container_size=MAX_CONTAINER_SIZE)
    yield factory
    factory.close()


@pytest.fixture
def unavailable_driver(tmp_path):
    # A database file below a regular file can never be opened.
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('')
    url = 'sqlite:///%s/cloudprefs.sqlite' % blocker
    conf = make_conf(url)
    conf.set_override('operation_timeout', 0.5, group='database')
    conf.set_override('timeout', 0.5, group='database')
    return sql.SQLDriver(url, conf)


class TestSQLiteContract(storage_contract.StorageContract):
    pass


def _hold_write_lock(path, seconds):
    """Another process's writer: SQLite's write lock, held ``seconds``."""
    other = sqlite3.connect(path, isolation_level=None,
                            check_same_thread=False)
    other.execute('BEGIN IMMEDIATE')

    def release():
        time.sleep(seconds)
        other.execute('COMMIT')
        other.close()
    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_a_writer_of_another_process_is_waited_for(driver_factory,
                                                   tmp_path):
    driver = driver_factory()
    driver.merge('u', 'c', {'k': 1})
    holder = _hold_write_lock(str(tmp_path / 'cloudprefs.sqlite'), 0.5)
    driver.set_value('u', 'c', ['k'], 2)
    holder.join()
    assert driver_factory().get_container('u', 'c').value == {'k': 2}


def test_a_write_lock_held_past_the_deadline_gives_backend_unavailable(
        driver_factory, tmp_path):
    driver = driver_factory()
    driver.merge('u', 'c', {'k': 1})
    driver.operation_timeout = 0.3
    holder = _hold_write_lock(str(tmp_path / 'cloudprefs.sqlite'), 1.5)
    try:
        with pytest.raises(exceptions.BackendUnavailable):
            driver.set_value('u', 'c', ['k'], 2)
    finally:
        holder.join()
    assert driver_factory().get_container('u', 'c').value == {'k': 1}
    driver.set_value('u', 'c', ['k'], 3)    # and it recovers
