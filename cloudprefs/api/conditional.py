"""ETags, Last-Modified and conditional requests (RFC 9110 section 13).

A container's ETag is its revision, quoted: strong, and changed by every
write that changes the container. A listing's ETag is a digest of the
listed names. Malformed If-Match, If-None-Match and If-Modified-Since
values are refused with 400; well-formed ones that name no revision of
ours simply do not match.
"""

import email.utils
import functools
import hashlib
import json
import re
import time

from cloudprefs.api import errors
from cloudprefs.storage import records


def etag(revision):
    return '"%d"' % revision


def listing_etag(names):
    digest = hashlib.sha256(json.dumps(names).encode('utf-8')).hexdigest()
    return '"%s"' % digest[:32]


def iso_time(modified_us):
    """A modification time (µs since the epoch) in ISO 8601, UTC, to the
    microsecond: ``2026-12-07T19:00:00.123456Z``."""
    seconds, micros = divmod(modified_us, 1000000)
    return '%s.%06dZ' % (time.strftime('%Y-%m-%dT%H:%M:%S',
                                       time.gmtime(seconds)), micros)


def http_date(timestamp):
    return _format_http_date(int(timestamp))


@functools.lru_cache(maxsize=4096)
def _format_http_date(seconds):
    # Many answers carry the same few modification times.
    return email.utils.formatdate(seconds, usegmt=True)


# An entity tag (RFC 9110 section 8.8.3). WSGI hands header values over
# as latin-1, so obs-text (bytes 0x80 to 0xFF) is U+0080 to U+00FF here.
# No part of it can match what another part matches, so it runs in
# linear time whatever the input (one pattern with optional blanks on
# both sides of an optional tag took a second of CPU on 8 KB of blanks).
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_BLANKS = re.compile(r'[ \t]*')
# Our revisions: ASCII digits that fit a signed 64-bit integer.
_REVISION = re.compile('[0-9]{1,19}')


def _malformed(header_name):
    return errors.APIError(
        400, errors.BAD_REQUEST,
        '%s must be "*" or a list of entity tags ("<digits>" or '
        'W/"<digits>").' % header_name)


def _entity_tags(header, header_name):
    """The tags of an If-Match/If-None-Match value, or '*'.

    Each tag is ``(weak, opaque)``, the opaque part with its quotes. A
    value that is not a list of entity tags is refused.
    """
    if header.strip(' \t') == '*':
        return '*'
    tags = []
    position, length = 0, len(header)
    # A list of elements separated by commas, each blank or one tag, with
    # optional blanks around it (empty elements are allowed).
    while True:
        position = _BLANKS.match(header, position).end()
        if position < length and header[position] != ',':
            match = _ENTITY_TAG.match(header, position)
            if match is None:
                raise _malformed(header_name)
            weak, opaque = match.groups()
            tags.append((weak is not None, '"%s"' % opaque))
            position = _BLANKS.match(header, match.end()).end()
        if position >= length:
            break
        if header[position] != ',':
            raise _malformed(header_name)
        position += 1
    if not tags:
        raise _malformed(header_name)
    return tags


def _parse_http_date(value):
    """Seconds since the epoch of an HTTP date; None for anything else."""
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return when.timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _http_date(value):
    """The time an If-Modified-Since value names (seconds since the
    epoch); 400 for one that is not an HTTP date."""
    seconds = _parse_http_date(value)
    if seconds is None:
        raise errors.APIError(
            400, errors.BAD_REQUEST,
            'If-Modified-Since must be an HTTP date, such as "Sun, 06 '
            'Nov 1994 08:49:37 GMT".')
    return seconds


def is_conditional_read(req):
    """Whether a GET/HEAD carries a validator that may make it a 304."""
    environ = req.environ
    return ('HTTP_IF_NONE_MATCH' in environ
            or 'HTTP_IF_MODIFIED_SINCE' in environ)


def not_modified(req, current_etag, modified_at=None):
    """True when a GET/HEAD's If-None-Match or If-Modified-Since says the
    client's copy (of ``current_etag``) is current (answer 304)."""
    # The environ, not req.headers: this runs on every GET.
    if_none_match = req.environ.get('HTTP_IF_NONE_MATCH')
    if if_none_match is not None:
        tags = _entity_tags(if_none_match, 'If-None-Match')
        # The weak comparison: W/"x" matches "x".
        return tags == '*' or any(opaque == current_etag
                                  for _weak, opaque in tags)
    since = req.environ.get('HTTP_IF_MODIFIED_SINCE')
    if since is not None and modified_at is not None:
        return int(modified_at) <= _http_date(since)
    return False


def write_precondition(req, allow_if_none_match):
    """The storage Precondition of a write's If-Match/If-None-Match.

    ``If-None-Match: *`` (create only) is defined for POST /v1/<c> only;
    elsewhere, and with entity tags, If-None-Match on a write is refused.
    """
    if_match = req.environ.get('HTTP_IF_MATCH')
    if_none_match = req.environ.get('HTTP_IF_NONE_MATCH')
    if if_none_match is not None:
        if (not allow_if_none_match
                or _entity_tags(if_none_match, 'If-None-Match') != '*'):
            raise errors.APIError(
                400, errors.BAD_REQUEST,
                'If-None-Match on a write is defined only as '
                '"If-None-Match: *" on POST /v1/<container>.')
        if if_match is not None:
            raise errors.APIError(400, errors.BAD_REQUEST,
                                  'Send If-Match or If-None-Match, not both.')
        return records.Precondition(exists=False)
    if if_match is None:
        return _unmodified_since(req)
    tags = _entity_tags(if_match, 'If-Match')
    if tags == '*':
        return records.Precondition(exists=True)
    # The strong comparison: a weak tag matches nothing, nor does one
    # that is not one of our revisions.
    return records.Precondition(revisions={
        int(opaque[1:-1]) for weak, opaque in tags
        if not weak and _REVISION.fullmatch(opaque[1:-1])})


def _unmodified_since(req):
    """The Precondition of a write's If-Unmodified-Since (RFC 9110
    section 13.1.4), used when it has no If-Match: the container must not
    have changed after the date's second. A missing container has no
    date, so the write goes ahead; a value that is not an HTTP date is
    ignored, as the RFC says."""
    value = req.environ.get('HTTP_IF_UNMODIFIED_SINCE')
    if value is None:
        return None
    seconds = _parse_http_date(value)
    if seconds is None:
        return None
    # Last-Modified is the write's second: a write in that second or
    # before it has a revision below the start of the next one.
    return records.Precondition(
        revision_below=max(0, (int(seconds) + 1) * 1000000))
