"""The change feed (``GET /v1?since=``) and the watch of one container
(``Prefer: wait=``): reading, and holding a request until something
changes.

A held request costs this process a thread (or a green thread) and a
:class:`~cloudprefs.api.waiting.Hold`, no database round trip of its own:
the waiters' shared poll and the process's own writes wake it, and it
reads once more when woken. A request the process will not hold (its
bounds are reached) is answered at once with ``Retry-After``.
"""

import json
import re
import time

import webob

from cloudprefs.api import conditional
from cloudprefs.api import errors
from cloudprefs.api import request as api_request
from cloudprefs.api import waiting
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


def _longest_wait(req, seconds):
    return min(seconds, req.changes_conf.max_wait)


def hold_request(req, container=None, also=()):
    """A :class:`~cloudprefs.api.waiting.Hold` for this request (waking
    for changes of the feeds in ``also`` too), or None when the process
    will not hold it."""
    connection_fd = req.environ.get(api_request.CONNECTION_FD_KEY)
    return req.feed_waiters.hold(
        req.owner_id, container,
        connection_fd() if connection_fd is not None else None, also=also)


def read_changes(req, limit):
    """200 with the user's changes after ``since``; with ``wait``, held
    until there are some or the wait runs out."""
    cursor = parse_cursor(req.GET.get('since', ''))
    wait = req.GET.get('wait')
    seconds = _longest_wait(req, 0 if wait is None else
                            _seconds(wait, 'wait'))
    # CursorExpired: 410, by the application.
    if seconds <= 0:
        return _changes_response(
            req.storage.changes_since(req.owner_id, cursor, limit))
    deadline = time.monotonic() + seconds
    hold = hold_request(req)
    if hold is None:
        page = req.storage.changes_since(req.owner_id, cursor, limit)
        return _changes_response(page, None if page.changes
                                 else waiting.retry_after(seconds))
    with hold:
        while True:
            hold.arm()
            page = req.storage.changes_since(req.owner_id, cursor, limit)
            remaining = deadline - time.monotonic()
            if (page.changes or remaining <= 0 or hold.client_gone
                    or req.feed_waiters.released):
                return _changes_response(page)
            hold.wait(page.cursor, remaining)
            cursor = page.cursor


def _changes_response(page, retry_after=None):
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
    headers = [('Content-Type', 'application/json'),
               ('Cache-Control', 'no-store'),
               (CURSOR_HEADER, cursor_text(page.cursor))]
    if retry_after is not None:
        headers.append(('Retry-After', str(retry_after)))
    return webob.Response(body=body.encode('utf-8'), status='200 OK',
                          headerlist=headers)


def requested_wait(req):
    """Seconds of ``Prefer: wait=`` (RFC 7240) on a conditional read;
    None when the request does not ask to wait. A preference that cannot
    be honoured (not a number of seconds) is ignored, as RFC 7240 says."""
    # The environ, not req.headers: this runs on every GET.
    prefer = req.environ.get('HTTP_PREFER')
    if prefer is None or 'HTTP_IF_NONE_MATCH' not in req.environ:
        return None
    match = _PREFER_WAIT.search(prefer)
    if match is None or not _SECONDS.fullmatch(match.group(1)):
        return None
    return float(match.group(1))


def wait_until_changed(req, container, seconds, look=None, also=()):
    """Hold a read whose If-None-Match names the container's current
    revision until the revision differs (or the container goes) or the
    wait runs out. Returns the headers to add to the answer of the read,
    which follows as usual (a 304 if nothing changed): ``Retry-After``
    when the process would not hold the request.

    ``look()`` gives the feed position (or, with the feeds of ``also``,
    each feed's) and the ETag now (None once the container is gone), in
    that order; by default, of the request's own container."""
    seconds = _longest_wait(req, seconds)
    if seconds <= 0:
        return {}
    if look is None:
        def look():
            return _look_at_container(req, container)
    deadline = time.monotonic() + seconds
    hold = hold_request(req, container, also=also)
    if hold is None:
        return {'Retry-After': str(waiting.retry_after(seconds))}
    with hold:
        while not (hold.client_gone or req.feed_waiters.released):
            hold.arm()
            position, current = look()
            if current is None or not conditional.not_modified(req,
                                                               current):
                return {}
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {}
            hold.wait(position, remaining)
    return {}


def _look_at_container(req, container):
    """The owner's feed position, then the container's ETag (None when
    it is gone)."""
    # The position first: a change after it wakes the wait.
    position = req.storage.feed_position(req.owner_id)
    try:
        meta = req.storage.get_meta(req.owner_id, container)
    except exceptions.NotFound:
        return position, None
    return position, conditional.etag(meta.revision)
