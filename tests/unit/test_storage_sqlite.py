"""The storage contract on the embedded SQLite driver."""

import pytest

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
