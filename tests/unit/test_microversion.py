"""Which microversion a request asks for, and what a bad one gets."""

import pytest

from cloudprefs.api import errors
from cloudprefs.api import microversion
from cloudprefs.api import versions


def asked(value):
    environ = {} if value is None else {'HTTP_OPENSTACK_API_VERSION': value}
    return microversion.requested(environ)


@pytest.mark.parametrize('header,version', [
    (None, (1, 0)),
    ('preferences 1.0', (1, 0)),
    ('preferences 1.1', (1, 1)),
    ('preferences latest', tuple(map(int,
                                     microversion.MAX_VERSION.split('.')))),
    ('Preferences 1.1', (1, 1)),
    ('compute 2.90', (1, 0)),                  # another service's
    ('compute 2.90, preferences 1.1', (1, 1)),
])
def test_the_version_asked_for(header, version):
    assert asked(header) == version


@pytest.mark.parametrize('header', ['preferences 1.x', 'preferences 1',
                                    'preferences 1.1.1', 'preferences ',
                                    'preferences LATEST',
                                    'preferences ' + '9' * 5000 + '.0'])
def test_a_malformed_version_is_400(header):
    with pytest.raises(errors.APIError) as raised:
        asked(header)
    assert raised.value.status == 400
    assert raised.value.code == errors.INVALID_API_VERSION


@pytest.mark.parametrize('header', ['preferences 0.9', 'preferences 2.0',
                                    'preferences 1.999', 'preferences 1.-1'])
def test_a_version_not_served_is_406(header):
    with pytest.raises(errors.APIError) as raised:
        asked(header)
    assert raised.value.status == 406
    assert raised.value.code == errors.API_VERSION_NOT_AVAILABLE
    assert microversion.MAX_VERSION in raised.value.detail


def test_versions_are_listed_oldest_first_without_gaps():
    parsed = [tuple(map(int, version.split('.')))
              for version in microversion.VERSIONS]
    assert parsed[0] == (1, 0)
    assert parsed == [(1, minor) for minor in range(len(parsed))]


def test_the_version_document_gives_the_range():
    (v1,) = versions.API_VERSIONS
    assert v1['min_version'] == '1.0'
    assert v1['version'] == microversion.MAX_VERSION
