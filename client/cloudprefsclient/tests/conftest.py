"""Fixtures of the client's tests.

The deployment tests need a Cloud Preferences service behind Keystone and
a clouds.yaml (``OS_CLIENT_CONFIG_FILE``) naming three clouds: a member
(``CLOUDPREFS_TEST_CLOUD``), another member of another user
(``CLOUDPREFS_TEST_ALT_CLOUD``) and a system administrator
(``CLOUDPREFS_TEST_ADMIN_CLOUD``); ``CLOUDPREFS_TEST_ENDPOINT`` is the
service's root URL. The server's functional tests set all of them. A
missing setting fails those tests: they never skip.
"""

import os

import pytest

from cloudprefsclient import client


def setting(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError('%s is not set: the deployment tests need a '
                           'deployment (see conftest.py)' % name)
    return value


def cloud_session(cloud):
    from openstack import config as os_config
    region = os_config.OpenStackConfig().get_one(cloud=setting(cloud))
    return region.get_session()


@pytest.fixture(scope='session')
def member_session():
    return cloud_session('CLOUDPREFS_TEST_CLOUD')


@pytest.fixture
def prefs(member_session):
    """A member's client, with none of their data left from before."""
    prefs = client.Client(session=member_session)
    prefs.delete_all()
    yield prefs
    prefs.delete_all()


@pytest.fixture
def alt_prefs():
    prefs = client.Client(session=cloud_session('CLOUDPREFS_TEST_ALT_CLOUD'))
    prefs.delete_all()
    yield prefs
    prefs.delete_all()


@pytest.fixture(scope='session')
def admin_prefs():
    return client.Client(
        session=cloud_session('CLOUDPREFS_TEST_ADMIN_CLOUD'))


@pytest.fixture(scope='session')
def endpoint():
    return setting('CLOUDPREFS_TEST_ENDPOINT').rstrip('/')
