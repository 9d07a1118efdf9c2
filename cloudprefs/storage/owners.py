"""Whose data a storage key holds: a user's, or a shared layer's.

The drivers key everything (containers, usage, quotas, the change feed)
by one owner string. A user's is the user id itself, as it always was.
A shared layer (API 1.4) -- a project's, a domain's, the cloud's -- is
kept under a key no user id can be: user ids are printable
(:func:`cloudprefs.api.request.is_valid_user_id`), and a layer's key
starts with the control character U+001F. So a layer's containers behave
exactly as a user's, and a layer is never listed, purged or announced as
a user.
"""

import typing

USER = 'user'
PROJECT = 'project'
DOMAIN = 'domain'
CLOUD = 'cloud'
# The order layers merge in, lowest first: a higher one overrides.
MERGE_ORDER = (CLOUD, DOMAIN, PROJECT, USER)
SHARED = (PROJECT, DOMAIN, CLOUD)

_MARK = '\x1f'
# Keystone's project and domain ids are at most 64 characters; the key
# stays far inside the 255 bytes the drivers keep for an owner.
MAX_LAYER_ID_BYTES = 64


class Owner(typing.NamedTuple):
    """A layer (``user``, ``project``, ``domain`` or ``cloud``) and the id
    of its user, project or domain (None for the cloud)."""

    layer: str
    id: typing.Optional[str]

    @property
    def key(self):
        """The string the drivers key this owner's data by."""
        if self.layer == USER:
            return self.id
        return '%s%s:%s' % (_MARK, self.layer, self.id or '')

    def __str__(self):
        if self.layer == USER:
            return 'user %s' % self.id
        if self.layer == CLOUD:
            return 'the cloud layer'
        return '%s %s' % (self.layer, self.id)


def parse(key):
    """The :class:`Owner` of a storage key."""
    if not key.startswith(_MARK):
        return Owner(USER, key)
    layer, _colon, layer_id = key[1:].partition(':')
    return Owner(layer, layer_id or None)


def is_user(key):
    """Whether a storage key holds a user's data (not a layer's)."""
    return not key.startswith(_MARK)


def is_valid_layer_id(layer_id):
    """1 to 64 bytes of printable UTF-8, as Keystone's ids are."""
    return (0 < len(layer_id.encode('utf-8', 'surrogatepass'))
            <= MAX_LAYER_ID_BYTES and layer_id.isprintable())
