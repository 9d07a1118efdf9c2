"""The replicated configurations doc/source/deployment.rst describes, with
real engines on loopback ports of the test's own: a three-node MariaDB
Galera cluster with one cloudprefs-api per node, and a PostgreSQL
primary with a synchronous standby behind one multi-host URL. (A MongoDB
replica set is the MongoDB tests' own business: they run unchanged
against one given by CLOUDPREFS_TEST_MONGODB_URL.)"""

import concurrent.futures
import json
import os
import re
import threading
import time
import uuid

import pytest
import requests

from tests.functional import conftest as functional
from tests.functional.test_api_versions import until
from tests.support import api_server
from tests.support import replicated

WRITERS_PER_NODE = 2
WRITES_PER_WRITER = 60
# Seconds between the primary's death and the standby's promotion: less
# than [database] operation_timeout (10), which the writes wait for.
PROMOTION_DELAY = 2.0


def write(api, user, path, value, timeout=30):
    started = time.monotonic()
    response = requests.post(api.url(path), data=json.dumps(value),
                             headers={'X-User-Id': user}, timeout=timeout)
    return response.status_code, time.monotonic() - started


def read(api, user, path):
    response = requests.get(api.url(path), headers={'X-User-Id': user},
                            timeout=30)
    return response.status_code, (response.json() if response.ok else None)


# How long a write through one node may take to be read on another.
REPLICATED_WITHIN = 20.0


# Galera ----------------------------------------------------------------------

@pytest.fixture(scope='module')
def galera(tmp_path_factory):
    cluster = replicated.GaleraCluster(3)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope='module')
def galera_apis(galera, tmp_path_factory):
    """One cloudprefs-api per node, on one database the cluster
    replicates."""
    database = 'cloudprefs_ha_' + uuid.uuid4().hex[:8]
    first = galera.nodes[0]
    import sqlalchemy as sa
    engine = sa.create_engine(first.admin_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(
            'CREATE DATABASE %s CHARACTER SET utf8mb4' % database))
    engine.dispose()
    functional.db_sync(first.admin_url(database),
                       str(tmp_path_factory.mktemp('galera-sync')))
    apis = []
    try:
        for node in galera.nodes:
            api = api_server.ApiServer(
                str(tmp_path_factory.mktemp('galera-api')),
                connection=node.admin_url(database),
                name='api%d' % node.index)
            api.start()
            apis.append(api)
        yield apis
    finally:
        for api in apis:
            api.stop()


def conflicts(galera):
    """Certification failures and brute-force aborts, over the nodes."""
    return sum(int(node.status(name) or 0) for node in galera.nodes
               for name in ('wsrep_local_cert_failures',
                            'wsrep_local_bf_aborts'))


def test_writers_on_every_node_lose_nothing(galera, galera_apis):
    user = 'ha-' + uuid.uuid4().hex[:8]
    follower = galera_apis[2]
    cursor = requests.get(follower.url('/v1'), headers={'X-User-Id': user},
                          timeout=30).headers['X-Cursor']
    conflicts_before = conflicts(galera)

    def writer(api, name):
        answers = []
        for number in range(WRITES_PER_WRITER):
            # Every writer on the same two containers: the nodes race.
            answers.append(write(api, user, '/v1/shared%d/%s-%d'
                                 % (number % 2, name, number), number))
        return answers

    jobs = [(api, 'n%dw%d' % (index, writer_index))
            for index, api in enumerate(galera_apis)
            for writer_index in range(WRITERS_PER_NODE)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: writer(*job), jobs))
    statuses = [status for answers in results for status, _took in answers]
    assert statuses == [204] * len(jobs) * WRITES_PER_WRITER
    expected = {0: {}, 1: {}}
    for _api, name in jobs:
        for number in range(WRITES_PER_WRITER):
            expected[number % 2]['%s-%d' % (name, number)] = number
    # Every node has every write (Galera applies on the others at once,
    # but a read may come a moment before: wait for it).
    for api in galera_apis:
        for index in (0, 1):
            assert until(lambda: read(api, user, '/v1/shared%d' % index)
                         == (200, expected[index]),
                         timeout=REPLICATED_WITHIN), api.url('')
    # The follower on node 3 saw the latest revision of each container
    # written through nodes 1 and 2.
    changes = requests.get(follower.url('/v1?since=' + cursor),
                           headers={'X-User-Id': user}, timeout=30).json()
    seen = {change['container']: change['revision']
            for change in changes['changes']}
    for index in (0, 1):
        etag = requests.head(galera_apis[0].url('/v1/shared%d' % index),
                             headers={'X-User-Id': user},
                             timeout=30).headers['ETag']
        assert '"%s"' % seen['shared%d' % index] == etag
    # Writers raced on other nodes: Galera refused some commits at
    # certification (MySQL error 1213), and each was retried.
    refused = conflicts(galera) - conflicts_before
    print('%d writes over three nodes, %d certification conflicts, slowest '
          '%.2f s' % (len(statuses), refused,
                      max(took for answers in results
                          for _status, took in answers)))
    assert refused > 0
    retried = [api for api in galera_apis
               if re.search(r'Retrying .* transient database error.*1213',
                            api.log())]
    assert retried


def test_a_node_killed_and_rejoined(galera, galera_apis):
    user = 'ha-' + uuid.uuid4().hex[:8]
    killed = galera.nodes[1]
    survivors = [galera_apis[0], galera_apis[2]]
    acknowledged, answers = [], []
    stop = threading.Event()

    def writer(api, name):
        number = 0
        while not stop.is_set():
            key = '%s-%d' % (name, number)
            status, took = write(api, user, '/v1/c/' + key, number)
            answers.append((status, took))
            if status == 204:
                acknowledged.append(key)
            number += 1

    threads = [threading.Thread(target=writer, args=(api, 'w%d' % index))
               for index, api in enumerate(survivors)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        killed.kill()
        # The API on the dead node cannot reach its database.
        assert until(lambda: write(galera_apis[1], user, '/v1/x/k', 1)[0]
                     == 503, timeout=30)
        time.sleep(2)
        killed.start()
        galera.wait_synced()
        assert until(lambda: write(galera_apis[1], user, '/v1/x/k', 2)[0]
                     == 204, timeout=30)
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    # The surviving nodes answered every write, through the eviction.
    assert [status for status, _took in answers] == [204] * len(answers)
    slowest = max(took for _status, took in answers)
    print('%d writes through the surviving nodes, slowest %.1f s'
          % (len(answers), slowest))
    for api in galera_apis:
        assert until(lambda: set(read(api, user, '/v1/c')[1] or ())
                     >= set(acknowledged),
                     timeout=REPLICATED_WITHIN), api.url('')


# PostgreSQL failover -----------------------------------------------------

@pytest.fixture
def postgresql_pair():
    pair = replicated.PostgreSQLPair()
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()


def test_a_postgresql_failover_through_a_multi_host_url(postgresql_pair,
                                                        tmp_path):
    database = 'cloudprefs_ha'
    postgresql_pair.create_database(database)
    url = postgresql_pair.multi_host_url(database)
    functional.db_sync(url, str(tmp_path))
    api = api_server.ApiServer(str(tmp_path), connection=url)
    api.start()
    user = 'failover'
    acknowledged, answers = [], []
    stop = threading.Event()

    def writer():
        number = 0
        while not stop.is_set():
            status, took = write(api, user, '/v1/c/k%d' % number, number)
            answers.append((status, took, time.monotonic()))
            if status == 204:
                acknowledged.append('k%d' % number)
            number += 1

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        time.sleep(1)
        postgresql_pair.kill_primary()
        killed_at = time.monotonic()
        # As a failover manager would: noticed and promoted a while
        # later, meanwhile the writes wait and retry.
        time.sleep(PROMOTION_DELAY)
        postgresql_pair.promote_standby()
        promoted_at = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        thread.join(timeout=60)
        api.stop()
    statuses = [status for status, _took, _at in answers]
    after_promotion = [at for status, _took, at in answers
                       if status == 204 and at > promoted_at]
    print('%d writes, promoted %.1f s after the kill, slowest %.1f s, '
          'first write after the promotion %.1f s later'
          % (len(answers), promoted_at - killed_at,
             max(took for _status, took, _at in answers),
             after_promotion[0] - promoted_at))
    assert statuses == [204] * len(statuses)
    assert after_promotion
    # Synchronous: every acknowledged write reached the standby.
    stored = json.loads(postgresql_pair.scalar_on_standby(
        database, "SELECT value FROM containers WHERE name = 'c'"))
    assert set(acknowledged) <= set(stored)


# MongoDB replica set ---------------------------------------------------------

REPLICA_SET_ENV = 'CLOUDPREFS_TEST_MONGODB_REPLICA_SET_URL'


@pytest.mark.skipif(
    not os.environ.get(REPLICA_SET_ENV),
    reason='needs a real MongoDB replica set given by %s: no real mongod '
           'can be installed on these machines, and the MongoDB-protocol '
           'test server has no replica sets' % REPLICA_SET_ENV)
def test_a_mongodb_primary_that_steps_down(tmp_path):
    import pymongo
    from tests.support import mongodb
    base = os.environ[REPLICA_SET_ENV]
    url = mongodb.with_database(base, mongodb.unique_database())
    api = api_server.ApiServer(str(tmp_path), connection=url)
    api.start()
    acknowledged, answers = [], []
    stop = threading.Event()

    def writer():
        number = 0
        while not stop.is_set():
            status, took = write(api, 'stepdown', '/v1/c/k%d' % number,
                                 number)
            answers.append(status)
            if status == 204:
                acknowledged.append('k%d' % number)
            number += 1

    thread = threading.Thread(target=writer)
    client = pymongo.MongoClient(base)
    try:
        thread.start()
        time.sleep(1)
        try:
            client.admin.command('replSetStepDown', 10)
        except pymongo.errors.AutoReconnect:
            pass                # the primary closes its connections
        time.sleep(12)
    finally:
        stop.set()
        thread.join(timeout=60)
        client.close()
    try:
        assert set(answers) <= {204, 503}
        assert answers[-10:] == [204] * 10      # writes flow again
        assert set(acknowledged) <= set(read(api, 'stepdown', '/v1/c')[1])
    finally:
        api.stop()
