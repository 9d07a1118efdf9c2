"""Fixtures that run cloudprefs-api as a real process."""

import pytest

from tests.support import api_server

# Smaller than the defaults so the limit tests stay fast; the defaults
# themselves are checked by the unit tests of the options.
TEST_LIMITS = {'max_container_size': str(256 * 1024),
               'max_request_body_size': str(128 * 1024)}


@pytest.fixture(scope='module', params=['sqlite', 'mongodb'])
def backend(request):
    return request.param


@pytest.fixture(scope='module')
def connection(backend, request, tmp_path_factory):
    if backend == 'sqlite':
        return 'sqlite:///%s' % (tmp_path_factory.mktemp('sqlite')
                                 / 'cloudprefs.sqlite')
    from tests.support import mongodb
    base = request.getfixturevalue('mongodb_base_url')
    return mongodb.with_database(base, mongodb.unique_database())


@pytest.fixture(scope='module')
def api(connection, tmp_path_factory):
    server = api_server.ApiServer(str(tmp_path_factory.mktemp('api')),
                                  connection, sections={'api': TEST_LIMITS})
    server.start()
    yield server
    server.stop()
