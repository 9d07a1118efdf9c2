"""Fixtures shared by unit and functional tests."""

import os

import pytest

from tests.support import mongodb


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
