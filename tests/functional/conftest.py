"""Fixtures that run cloudprefs-api as a real process."""

import os
import subprocess
import sys

import pytest

from tests.support import api_server
from tests.support import config
from tests.support import mongodb
from tests.support import sqlservers

# Smaller than the defaults so the limit tests stay fast; the defaults
# themselves are checked by the unit tests of the options.
TEST_LIMITS = {'max_container_size': str(256 * 1024),
               'max_request_body_size': str(128 * 1024)}
# A browser application's origin the servers allow (CORS).
BROWSER_ORIGIN = 'https://app.example'


BACKENDS = ['sqlite', 'mongodb', 'postgresql', 'mysql']

# A module that names SERVERS runs its tests under each (its fixtures take
# ``server_kind``); under uwsgi on one SQL backend only: the backends are
# the same code under either server, and CI's time is not.
UWSGI_BACKENDS = ('postgresql',)


def pytest_generate_tests(metafunc):
    if 'server_kind' in metafunc.fixturenames:
        metafunc.parametrize(
            'server_kind', getattr(metafunc.module, 'SERVERS',
                                   (api_server.CLOUDPREFS_API,)),
            scope='module')


def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        params = getattr(item, 'callspec', None)
        params = params.params if params is not None else {}
        if (params.get('server_kind') == api_server.UWSGI
                and params.get('backend', UWSGI_BACKENDS[0])
                not in UWSGI_BACKENDS):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope='module', params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope='module')
def connection_for(request, tmp_path_factory):
    """Make a database URL for a backend, ready for the service (server
    SQL databases are migrated with cloudprefs-manage db_sync)."""
    def make(backend):
        if backend == 'sqlite':
            return 'sqlite:///%s' % (tmp_path_factory.mktemp('sqlite')
                                     / 'cloudprefs.sqlite')
        if backend == 'mongodb':
            base = request.getfixturevalue('mongodb_base_url')
            return mongodb.with_database(base, mongodb.unique_database())
        url = sqlservers.create_database(backend)
        request.addfinalizer(lambda: sqlservers.drop_database(backend, url))
        db_sync(url, str(tmp_path_factory.mktemp('db_sync')))
        return url
    return make


@pytest.fixture(scope='module')
def connection(backend, connection_for):
    return connection_for(backend)


def db_sync(url, workdir):
    conf_path = config.write_config_file(os.path.join(workdir, 'sync.conf'),
                                         {'database': {'connection': url}})
    script = os.path.join(os.path.dirname(sys.executable),
                          'cloudprefs-manage')
    subprocess.run([script, '--config-file', conf_path, 'db_sync'],
                   check=True, capture_output=True, timeout=120)


@pytest.fixture(scope='module')
def api(connection, server_kind, tmp_path_factory):
    """cloudprefs-api (one worker), or uwsgi where the module's SERVERS
    say, on the module's backend."""
    # Long-polls answer at once: the fuzzers would otherwise hold many.
    server = api_server.server_of_kind(
        server_kind, str(tmp_path_factory.mktemp('api')), connection,
        sections={'api': TEST_LIMITS, 'changes': {'max_wait': '0'},
                  'cors': {'allowed_origin': BROWSER_ORIGIN}})
    server.start()
    yield server
    server.stop()
