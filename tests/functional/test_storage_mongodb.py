"""The storage contract on the MongoDB driver.

Runs against the pinned MongoDB-protocol test server, or a real mongod
when CLOUDPREFS_TEST_MONGODB_URL is set.
"""

import pymongo
import pymongo.errors
import pytest

from cloudprefs.storage import exceptions
from cloudprefs.storage import mongodb as mongodb_driver
from tests import storage_contract
from tests.support.config import DriverFactory
from tests.support.config import make_conf
from tests.support import mongodb
from tests.support import network

# Room for containers the path index covers (64 KiB and more).
MAX_CONTAINER_SIZE = 1024 * 1024


@pytest.fixture
def driver_factory(mongodb_url):
    factory = DriverFactory(mongodb_driver.MongoDBDriver, mongodb_url,
                            max_container_size=MAX_CONTAINER_SIZE)
    factory().upgrade()
    yield factory
    client = pymongo.MongoClient(mongodb_url)
    client.drop_database(client.get_default_database())
    client.close()
    factory.close()


@pytest.fixture
def proxied_driver_factory(mongodb_url, driver_factory):
    proxy = network.TCPProxy(*mongodb.first_host_port(mongodb_url))
    factory = DriverFactory(
        mongodb_driver.MongoDBDriver,
        mongodb.with_host(mongodb_url, '127.0.0.1', proxy.port),
        max_container_size=MAX_CONTAINER_SIZE)
    factory.proxy = proxy
    yield factory
    factory.close()
    proxy.close()


def _command(name, collection):
    """The bytes that open a command on a collection in OP_MSG (BSON: a
    string element ``name`` whose value is the collection's name)."""
    value = collection.encode() + b'\x00'
    return (b'\x02' + name.encode() + b'\x00'
            + len(value).to_bytes(4, 'little') + value)


@pytest.fixture
def unavailable_driver():
    url = ('mongodb://127.0.0.1:%d/cloudprefs?directConnection=true'
           '&retryWrites=false' % network.free_port())
    conf = make_conf(url)
    conf.set_override('timeout', 0.5, group='database')
    conf.set_override('operation_timeout', 0.5, group='database')
    storage = mongodb_driver.MongoDBDriver(url, conf)
    yield storage
    storage.close()


@pytest.fixture
def fault_patterns():
    return {'read': _command('find', 'containers'),
            'write': _command('update', 'containers'),
            'durable': _command('insert', 'containers')}


class TestMongoDBContract(storage_contract.StorageContract,
                          storage_contract.NetworkFaultContract):

    def test_stored_keys_are_escaped_and_readable(self, driver, mongodb_url):
        driver.merge('u', 'c', {'a.b': {'$x': 1, '': 2, '\x00': 3}})
        client = pymongo.MongoClient(mongodb_url)
        stored = client.get_default_database()['containers'].find_one(
            {'u': 'u', 'c': 'c'})
        client.close()
        assert stored['d'] == {'a%2Eb': {'%24x': 1, '%': 2, '%00': 3}}


class FailingCollection:
    """A pymongo collection whose ``method`` raises ``error`` the next
    ``times`` times it is called, then works."""

    def __init__(self, collection, method, error, times):
        self._collection = collection
        self._method = method
        self._error = error
        self.failures_left = times

    def __getattr__(self, name):
        attribute = getattr(self._collection, name)
        if name != self._method:
            return attribute

        def failing(*args, **kwargs):
            if self.failures_left:
                self.failures_left -= 1
                raise self._error
            return attribute(*args, **kwargs)
        return failing


TRANSIENT_ERRORS = [
    pymongo.errors.NotPrimaryError('not primary'),
    pymongo.errors.AutoReconnect('connection reset by peer'),
    pymongo.errors.NetworkTimeout('timed out'),
    pymongo.errors.ServerSelectionTimeoutError('no server'),
    pymongo.errors.ExecutionTimeout('operation exceeded time limit',
                                    code=50),
    pymongo.errors.WTimeoutError('waiting for replication timed out',
                                 code=64),
    pymongo.errors.OperationFailure('InterruptedDueToReplStateChange',
                                    code=11602),
    pymongo.errors.OperationFailure('PrimarySteppedDown', code=189),
    pymongo.errors.OperationFailure('labelled', code=1, details={
        'errorLabels': ['RetryableWriteError']}),
]


@pytest.mark.parametrize('error', TRANSIENT_ERRORS, ids=repr)
@pytest.mark.parametrize('method', ['find_one', 'update_one'])
def test_transient_mongodb_errors_are_retried(driver_factory, error,
                                              method):
    driver = driver_factory()
    driver.merge('u', 'c', {'k': 1})
    failing = driver._collection = FailingCollection(
        driver._collection, method, error, 2)
    if method == 'find_one':
        assert driver.get_container('u', 'c').value == {'k': 1}
    else:
        driver.set_value('u', 'c', ['k'], 2)
        assert driver_factory().get_container('u', 'c').value == {'k': 2}
    assert failing.failures_left == 0


@pytest.mark.parametrize('error', TRANSIENT_ERRORS[:3], ids=repr)
def test_transient_mongodb_errors_past_the_deadline_are_unavailable(
        driver_factory, error):
    driver = driver_factory()
    driver.merge('u', 'c', {'k': 1})
    driver.operation_timeout = 0.3
    driver._collection = FailingCollection(driver._collection, 'find_one',
                                           error, 10 ** 6)
    with pytest.raises(exceptions.BackendUnavailable) as caught:
        driver.get_container('u', 'c')
    assert caught.value.__cause__ is error


@pytest.mark.parametrize('error, expected', [
    (pymongo.errors.OperationFailure('BadValue', code=2),
     exceptions.BackendError),
    (pymongo.errors.OperationFailure('Unauthorized', code=13),
     exceptions.BackendError),
    (pymongo.errors.DocumentTooLarge('too large'), exceptions.TooLarge),
    (pymongo.errors.OperationFailure('BSONObjectTooLarge', code=10334),
     exceptions.TooLarge),
], ids=repr)
def test_other_mongodb_errors_are_translated_not_retried(
        driver_factory, error, expected):
    driver = driver_factory()
    driver.merge('u', 'c', {'k': 1})
    failing = driver._collection = FailingCollection(
        driver._collection, 'update_one', error, 2)
    with pytest.raises(expected):
        driver.set_value('u', 'c', ['k'], 2)
    assert failing.failures_left == 1
    assert driver_factory().get_container('u', 'c').value == {'k': 1}


def test_duplicate_key_on_insert_is_a_lost_race(driver_factory):
    """11000 from the unique index: another writer created the container
    between this one's read and insert; the write starts over and
    updates it."""
    first, second = driver_factory(), driver_factory()
    real_find_one = first._collection.find_one

    class RacingCollection(FailingCollection):
        created = False

        def find_one(self, *args, **kwargs):
            found = real_find_one(*args, **kwargs)
            if not self.created:
                self.created = True
                second.merge('u', 'c', {'theirs': 1})
            return found

    first._collection = RacingCollection(first._collection, None, None, 0)
    first.merge('u', 'c', {'mine': 1})
    assert second.get_container('u', 'c').value == {'theirs': 1, 'mine': 1}
