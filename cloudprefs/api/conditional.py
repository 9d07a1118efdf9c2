"""ETags, Last-Modified and conditional requests (RFC 9110 section 13).

A container's ETag is its revision, quoted: strong, and changed by every
write. A listing's ETag is a digest of the listed names.
"""

import email.utils
import functools
import hashlib
import json

from cloudprefs.api import errors
from cloudprefs.storage import records


def etag(revision):
    return '"%d"' % revision


def listing_etag(names):
    digest = hashlib.sha256(json.dumps(names).encode('utf-8')).hexdigest()
    return '"%s"' % digest[:32]


def http_date(timestamp):
    return _format_http_date(int(timestamp))


@functools.lru_cache(maxsize=4096)
def _format_http_date(seconds):
    # Many answers carry the same few modification times.
    return email.utils.formatdate(seconds, usegmt=True)


def _entity_tags(header):
    """The opaque tags of an If-Match/If-None-Match list, or '*'.

    Weak tags (W/"x") yield their opaque part; the weak comparison of
    If-None-Match ignores the difference and If-Match never matches a
    weak tag against our strong ones, which ``strong_revisions`` handles.
    """
    if header.strip() == '*':
        return '*'
    return [tag.strip() for tag in header.split(',') if tag.strip()]


def _revisions(tags, allow_weak):
    revisions = set()
    for tag in tags:
        if tag.startswith('W/'):
            if not allow_weak:
                continue
            tag = tag[2:]
        if len(tag) >= 2 and tag[0] == tag[-1] == '"' and \
                tag[1:-1].isdigit():
            revisions.add(int(tag[1:-1]))
    return revisions


def is_conditional_read(req):
    """Whether a GET/HEAD carries a validator that may make it a 304."""
    environ = req.environ
    return ('HTTP_IF_NONE_MATCH' in environ
            or 'HTTP_IF_MODIFIED_SINCE' in environ)


def not_modified(req, current_etag, modified_at=None):
    """True when a GET/HEAD's If-None-Match or If-Modified-Since says the
    client's copy is current (answer 304)."""
    # The environ, not req.headers: this runs on every GET.
    if_none_match = req.environ.get('HTTP_IF_NONE_MATCH')
    if if_none_match is not None:
        tags = _entity_tags(if_none_match)
        if tags == '*':
            return True
        opaque = {tag[2:] if tag.startswith('W/') else tag for tag in tags}
        return current_etag in opaque
    since = req.environ.get('HTTP_IF_MODIFIED_SINCE')
    if since is not None and modified_at is not None:
        try:
            since_time = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False        # an invalid date is ignored
        if since_time.tzinfo is None:
            return False
        return int(modified_at) <= since_time.timestamp()
    return False


def write_precondition(req, allow_if_none_match):
    """The storage Precondition of a write's If-Match/If-None-Match.

    ``If-None-Match: *`` (create only) is defined for POST /v1/<c> only;
    elsewhere, and with entity tags, If-None-Match on a write is refused.
    """
    if_match = req.environ.get('HTTP_IF_MATCH')
    if_none_match = req.environ.get('HTTP_IF_NONE_MATCH')
    if if_none_match is not None:
        if not allow_if_none_match or _entity_tags(if_none_match) != '*':
            raise errors.APIError(
                400, errors.BAD_REQUEST,
                'If-None-Match on a write is defined only as '
                '"If-None-Match: *" on POST /v1/<container>.')
        if if_match is not None:
            raise errors.APIError(400, errors.BAD_REQUEST,
                                  'Send If-Match or If-None-Match, not both.')
        return records.Precondition(exists=False)
    if if_match is None:
        return None
    tags = _entity_tags(if_match)
    if tags == '*':
        return records.Precondition(exists=True)
    return records.Precondition(revisions=_revisions(tags, allow_weak=False))
