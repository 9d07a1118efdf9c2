"""When a container expires (API 1.3): the request headers of a write,
named as Swift names them, and the header of a read.

``X-Delete-At: <Unix seconds>`` or ``X-Delete-After: <seconds>`` set it,
``X-Remove-Delete-At`` (any value) clears it, and a write with none of
them keeps it. Before 1.3 the headers are ignored, as any unknown header
was.
"""

import math
import re
import time

from cloudprefs.api import errors
from cloudprefs.api import microversion
from cloudprefs.storage import records

DELETE_AT = 'X-Delete-At'
_DELETE_AT = 'HTTP_X_DELETE_AT'
_DELETE_AFTER = 'HTTP_X_DELETE_AFTER'
_REMOVE = 'HTTP_X_REMOVE_DELETE_AT'
# 9999-12-31T23:59:59Z: every database and client represents it.
LATEST = 253402300799
_SECONDS = re.compile('[0-9]{1,12}')


def _bad(detail):
    return errors.APIError(400, errors.BAD_REQUEST, detail)


def _seconds(text, header):
    text = text.strip()
    if not _SECONDS.fullmatch(text):
        raise _bad('%s must be a whole number of seconds.' % header)
    return int(text)


def requested(req):
    """The write's :class:`records.Expiry`, or None to keep the
    container's; 400 for a malformed, past or contradictory one."""
    if req.api_version < microversion.EXPIRY:
        return None
    environ = req.environ
    given = [name for name in (_DELETE_AT, _DELETE_AFTER, _REMOVE)
             if name in environ]
    if not given:
        return None
    if len(given) > 1:
        raise _bad('Give one of X-Delete-At, X-Delete-After and '
                   'X-Remove-Delete-At.')
    if given[0] == _REMOVE:
        return records.Expiry(None)
    now = records.now_s()
    if given[0] == _DELETE_AT:
        expires_at = _seconds(environ[_DELETE_AT], 'X-Delete-At')
        if expires_at <= now:
            raise _bad('X-Delete-At is in the past (it is now %d).' % now)
    else:
        after = _seconds(environ[_DELETE_AFTER], 'X-Delete-After')
        if after < 1:
            raise _bad('X-Delete-After must be at least 1 second.')
        # Round the start up: a write at 10.9 s asking for 1 second
        # expires at 12, so it lives at least the seconds asked for
        # (Swift truncates, and its 1 second can be 0.1).
        expires_at = max(now, math.ceil(time.time())) + after
    if expires_at > LATEST:
        raise _bad('The container would expire after the year 9999.')
    return records.Expiry(expires_at)


def headers(req, expires_at):
    """The headers that tell a reader when the container expires."""
    if expires_at is None or req.api_version < microversion.EXPIRY:
        return {}
    return {DELETE_AT: str(expires_at)}
