"""The storage contract on the MongoDB driver.

Runs against the pinned MongoDB-protocol test server, or a real mongod
when CLOUDPREFS_TEST_MONGODB_URL is set.
"""

import pymongo
import pytest

from cloudprefs.storage import mongodb
from tests import storage_contract
from tests.support.config import DriverFactory
from tests.support.config import make_conf
from tests.support import network

MAX_CONTAINER_SIZE = 64 * 1024


@pytest.fixture
def driver_factory(mongodb_url):
    factory = DriverFactory(mongodb.MongoDBDriver, mongodb_url,
                            max_container_size=MAX_CONTAINER_SIZE)
    factory().upgrade()
    yield factory
    client = pymongo.MongoClient(mongodb_url)
    client.drop_database(client.get_default_database())
    client.close()
    factory.close()


@pytest.fixture
def unavailable_driver():
    url = ('mongodb://127.0.0.1:%d/cloudprefs?directConnection=true'
           '&retryWrites=false' % network.free_port())
    conf = make_conf(url)
    conf.set_override('timeout', 0.5, group='database')
    storage = mongodb.MongoDBDriver(url, conf)
    yield storage
    storage.close()


class TestMongoDBContract(storage_contract.StorageContract):

    def test_stored_keys_are_escaped_and_readable(self, driver, mongodb_url):
        driver.merge('u', 'c', {'a.b': {'$x': 1, '': 2, '\x00': 3}})
        client = pymongo.MongoClient(mongodb_url)
        stored = client.get_default_database()['containers'].find_one(
            {'u': 'u', 'c': 'c'})
        client.close()
        assert stored['d'] == {'a%2Eb': {'%24x': 1, '%': 2, '%00': 3}}
