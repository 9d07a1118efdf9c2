"""The storage contract on the embedded SQLite driver."""

import pytest

from cloudprefs.storage import sql
from tests import storage_contract
from tests.support.config import DriverFactory
from tests.support.config import make_conf

MAX_CONTAINER_SIZE = 64 * 1024


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
    return sql.SQLDriver(url, make_conf(url))


class TestSQLiteContract(storage_contract.StorageContract):
    pass
