"""The storage contract on the embedded SQLite driver."""

import pytest

from cloudprefs.storage import sql
from tests import storage_contract
from tests.support.config import make_conf

MAX_CONTAINER_SIZE = 64 * 1024


@pytest.fixture
def driver(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'cloudprefs.sqlite')
    storage = sql.SQLDriver(url, make_conf(
        url, max_container_size=MAX_CONTAINER_SIZE))
    yield storage
    storage.close()


@pytest.fixture
def unavailable_driver(tmp_path):
    # A database file below a regular file can never be opened.
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('')
    url = 'sqlite:///%s/cloudprefs.sqlite' % blocker
    return sql.SQLDriver(url, make_conf(url))


class TestSQLiteContract(storage_contract.StorageContract):
    pass
