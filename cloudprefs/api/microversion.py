"""API microversions: which version of /v1 a request asks for.

A client sends ``OpenStack-API-Version: preferences 1.1`` (or ``latest``)
to use what that version added; without the header it gets 1.0, the API
as it was before microversions, unchanged. Every answer of the /v1
application names the version it used and varies on the header. A
version this service does not have is refused with 406, a header that is
not a version with 400. The parsing is the OpenStack-made
``microversion-parse``, as placement uses it.

Each version's change is listed below, once; the version document at /,
the API reference's version history and the OpenAPI description follow
this list (a unit test checks them).
"""

import functools

import microversion_parse

from cloudprefs.api import errors

SERVICE_TYPE = 'preferences'
HEADER = 'OpenStack-API-Version'
_ENVIRON_HEADER = 'HTTP_OPENSTACK_API_VERSION'

# Oldest first: (version, what it added). Never remove or reorder one.
HISTORY = (
    ('1.0', 'The API as it was before microversions.'),
    ('1.1', 'PATCH of a container with a JSON Patch (RFC 6902, '
            'Content-Type: application/json-patch+json).'),
    ('1.2', 'GET /v1?detail=true: each container with its size, ETag and '
            'modification time.'),
    ('1.3', 'Containers that expire: X-Delete-At, X-Delete-After and '
            'X-Remove-Delete-At on writes, X-Delete-At on reads, '
            'expires_at in the detailed listing.'),
    ('1.4', 'Shared layers: ?scope=project|domain|cloud on every route '
            'acts on the project\'s, the domain\'s or the cloud\'s '
            'containers; ?effective=true reads a container, a value or the '
            'names as the layers merge (cloud, domain, project, user).'),
)
VERSIONS = tuple(version for version, _change in HISTORY)
MIN_VERSION = VERSIONS[0]
MAX_VERSION = VERSIONS[-1]

# Versions that name a feature, for the handlers' checks.
JSON_PATCH = microversion_parse.parse_version_string('1.1')
DETAILED_LISTING = microversion_parse.parse_version_string('1.2')
EXPIRY = microversion_parse.parse_version_string('1.3')
LAYERS = microversion_parse.parse_version_string('1.4')

_VARY = ('Vary', HEADER)


# Most requests send no header: one parsed default for all of them.
_DEFAULT = microversion_parse.extract_version({}, SERVICE_TYPE, VERSIONS)


def requested(environ):
    """The version the request asks for (a ``microversion_parse.Version``,
    ordered like a tuple); :class:`~cloudprefs.api.errors.APIError` 400
    for a header that is not a version, 406 for one this service does not
    have."""
    if _ENVIRON_HEADER not in environ:
        return _DEFAULT
    return _parsed(environ[_ENVIRON_HEADER])


# Clients repeat the same header: parsing it takes microseconds, a
# look-up here a tenth of one. (Refusals raise, and are not kept.)
@functools.lru_cache(maxsize=256)
def _parsed(value):
    try:
        if (microversion_parse.get_version({HEADER: value}, SERVICE_TYPE)
                is None and _names_this_service(value)):
            # "preferences" without a version: the parser skips it.
            raise TypeError(value)
        return microversion_parse.extract_version({HEADER: value},
                                                  SERVICE_TYPE, VERSIONS)
    except TypeError:
        raise errors.APIError(
            400, errors.INVALID_API_VERSION,
            'OpenStack-API-Version must be "%s <major>.<minor>" or "%s '
            'latest".' % (SERVICE_TYPE, SERVICE_TYPE),
            headers=dict([_VARY]))
    except ValueError:
        raise errors.APIError(
            406, errors.API_VERSION_NOT_AVAILABLE,
            'This service has %s versions %s to %s; ask for one of them, '
            'or for "latest".' % (SERVICE_TYPE, MIN_VERSION, MAX_VERSION),
            headers=dict([_VARY]))


def _names_this_service(value):
    return any(part.split(None, 1)[:1] == [SERVICE_TYPE]
               for part in value.lower().split(','))


def add_headers(response, version):
    """Say in ``response`` which version answered, and that answers vary
    with the version asked for."""
    response.headerlist.extend((
        (HEADER, '%s %s' % (SERVICE_TYPE, version)), _VARY))
