"""Fixtures shared by unit and functional tests."""

import os
import signal

import pytest

from tests.support import mongodb


# The slow part of the suite: what starts a Keystone, RabbitMQ clients,
# uwsgi, several servers per test, builds wheels or documentation, or
# fuzzes. "tools/run-tests.sh -m 'not slow'" leaves it out for a quick
# inner loop; the README's command runs everything.
SLOW = {
    'tests/functional/test_client.py', 'tests/functional/test_packaging.py',
    'tests/functional/test_keystone.py', 'tests/functional/test_uwsgi.py',
    'tests/functional/test_notifications.py',
    'tests/functional/test_devstack_plugin.py',
    'tests/functional/test_workers.py', 'tests/functional/test_outage.py',
    'tests/functional/test_concurrency.py',
    'tests/functional/test_fuzz_openapi.py',
    'tests/functional/test_fuzz_headers.py',
    'tests/functional/test_export_import.py',
    'tests/functional/test_high_availability.py',
    'tests/unit/test_docs.py::test_sphinx_builds_without_warnings',
}


def pytest_configure(config):
    """A run stopped with SIGTERM (a CI timeout, kill) ends as Ctrl-C
    does: pytest then tears every fixture down, and the servers the tests
    started are stopped instead of left running."""
    def interrupt(signum, _frame):
        raise KeyboardInterrupt('stopped by signal %d' % signum)

    signal.signal(signal.SIGTERM, interrupt)


def pytest_collection_modifyitems(config, items):
    for item in items:
        module, _, rest = item.nodeid.partition('::')
        if module in SLOW or '%s::%s' % (module, rest.split('[')[0]) \
                in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session')
def mongodb_base_url(tmp_path_factory):
    """A MongoDB server for the whole session: a real mongod when
    CLOUDPREFS_TEST_MONGODB_URL is set, else the test server we start.
    A server that cannot be started fails the tests; it never skips them."""
    url = os.environ.get(mongodb.URL_ENV)
    if url:
        yield url
        return
    server = mongodb.TestServer(
        storage_path=str(tmp_path_factory.mktemp('secantus')))
    server.start()
    try:
        yield server.url
    finally:
        server.cleanup()


@pytest.fixture
def mongodb_url(mongodb_base_url):
    """A URL naming a database of this test's own."""
    return mongodb.with_database(mongodb_base_url, mongodb.unique_database())


@pytest.fixture(scope='session')
def sql_database(request):
    """Per dialect, one throw-away database for the session, migrated."""
    from tests.support import sqlservers
    created = {}

    def get(dialect):
        if dialect not in created:
            created[dialect] = sqlservers.create_database(dialect)
        return created[dialect]

    yield get
    for dialect, url in created.items():
        sqlservers.drop_database(dialect, url)


@pytest.fixture(scope='session')
def rabbitmq_vhost():
    """A virtual host of this session's own on the machine's RabbitMQ."""
    from tests.support import rabbitmq
    vhost = rabbitmq.VirtualHost().create()
    yield vhost
    vhost.delete()


@pytest.fixture(scope='session')
def keystone(tmp_path_factory, rabbitmq_vhost):
    """A real Keystone for the whole session, with a service user for
    auth_token (allowed to read users, for purge_deleted_users), two
    members of one project, that project's admin (carol) and a system
    administrator (dave, with system-scoped tokens). It sends its
    notifications to the session's RabbitMQ vhost."""
    from tests.support import keystone as keystone_support
    server = keystone_support.KeystoneServer(
        str(tmp_path_factory.mktemp('keystone')))
    try:
        server.start(notifications_url=rabbitmq_vhost.url())
        server.users = {
            'service': server.create_user('cloudprefs', 'service',
                                          'service'),
            'alice': server.create_user('alice', 'demo', 'member'),
            'bob': server.create_user('bob', 'demo', 'member'),
            # An admin of a project, and an administrator of the cloud.
            'carol': server.create_user('carol', 'demo', 'admin'),
            'dave': server.create_user('dave', 'demo', 'member'),
        }
        server.grant_system_role(server.users['dave'], 'admin')
        server.grant_system_role(server.users['service'], 'reader',
                                 system_tokens=False)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope='session')
def memcached():
    from tests.support import keystone as keystone_support
    server = keystone_support.Memcached().start()
    yield server
    server.stop()
