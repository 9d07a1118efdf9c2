"""The change feed (``GET /v1?since=``) and the watch of one container
(``Prefer: wait=``): reading, and holding a request until something
changes.

A held request costs this process a green thread and an entry in its
:class:`~cloudprefs.api.waiting.FeedWaiters`, no database round trip of
its own: the waiters' shared poll and the process's own writes wake it,
and it reads once more when woken.
"""

import json
import re
import time

import webob

from cloudprefs.api import conditional
from cloudprefs.api import errors
from cloudprefs.storage import exceptions

CURSOR_HEADER = 'X-Cursor'
_CURSOR = re.compile('[0-9]{1,18}')
_SECONDS = re.compile(r'[0-9]{1,9}(\.[0-9]{1,6})?')
_PREFER_WAIT = re.compile(r'(?:^|,)\s*wait\s*=\s*"?([^",;\s]*)"?',
                          re.IGNORECASE)


def cursor_text(position):
    return str(position)


def parse_cursor(text):
    """``since``: a cursor from an earlier answer; empty or 0 starts from
    the beginning."""
    if text == '':
        return 0
    if not _CURSOR.fullmatch(text):
        raise errors.APIError(
            400, errors.BAD_REQUEST,
            'since must be a cursor from an earlier answer (X-Cursor or '
            '"cursor"), or 0 to start from the beginning.')
    return int(text)


def _seconds(text, what):
    if not _SECONDS.fullmatch(text):
        raise errors.APIError(400, errors.BAD_REQUEST,
                              '%s must be a number of seconds.' % what)
    return float(text)


def _deadline(req, seconds):
    return time.monotonic() + min(seconds, req.changes_conf.max_wait)


def read_changes(req, limit):
    """200 with the user's changes after ``since``; with ``wait``, held
    until there are some or the wait runs out."""
    cursor = parse_cursor(req.GET.get('since', ''))
    wait = req.GET.get('wait')
    deadline = _deadline(req, 0 if wait is None else _seconds(wait, 'wait'))
    waiters = req.feed_waiters
    while True:
        # CursorExpired: 410, by the application.
        page = req.storage.changes_since(req.owner_id, cursor, limit)
        remaining = deadline - time.monotonic()
        if page.changes or remaining <= 0 or waiters.released:
            return _changes_response(page)
        waiters.wait(req.owner_id, page.cursor, remaining)
        cursor = page.cursor


def _changes_response(page):
    document = {
        'changes': [{'container': entry.container,
                     'revision': None if entry.deleted
                     else str(entry.revision),
                     'deleted': entry.deleted}
                    for entry in page.changes],
        'cursor': cursor_text(page.cursor),
        'more': page.more,
    }
    body = json.dumps(document, ensure_ascii=False, separators=(',', ':'))
    return webob.Response(
        body=body.encode('utf-8'), status='200 OK',
        headerlist=[('Content-Type', 'application/json'),
                    ('Cache-Control', 'no-store'),
                    (CURSOR_HEADER, cursor_text(page.cursor))])


def requested_wait(req):
    """Seconds of ``Prefer: wait=`` (RFC 7240) on a conditional read;
    None when the request does not ask to wait."""
    # The environ, not req.headers: this runs on every GET.
    prefer = req.environ.get('HTTP_PREFER')
    if prefer is None or 'HTTP_IF_NONE_MATCH' not in req.environ:
        return None
    match = _PREFER_WAIT.search(prefer)
    if match is None:
        return None
    return _seconds(match.group(1), 'Prefer: wait')


def wait_until_changed(req, container, seconds):
    """Hold a read whose If-None-Match names the container's current
    revision until the revision differs (or the container goes) or the
    wait runs out. Returns when the read should be answered as usual
    (a 304 if nothing changed)."""
    deadline = _deadline(req, seconds)
    waiters = req.feed_waiters
    while not waiters.released:
        # The position first: a change after it wakes the wait.
        position = req.storage.feed_position(req.owner_id)
        try:
            meta = req.storage.get_meta(req.owner_id, container)
        except exceptions.NotFound:
            return
        if not conditional.not_modified(req, conditional.etag(
                meta.revision)):
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        waiters.wait(req.owner_id, position, remaining)
