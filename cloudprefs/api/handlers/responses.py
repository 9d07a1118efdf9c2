"""The answers the handlers build: JSON bodies, HEAD, 204 and 304.

Responses are built from a status line and a header list: WebOb's
content-type and charset handling would cost more than the handler.
"""

import json

import webob

from cloudprefs.api import conditional
from cloudprefs.api.handlers import feed


def json_response(value, headers=None):
    return json_text_response(
        json.dumps(value, ensure_ascii=False, separators=(',', ':')),
        headers)


def json_text_response(text, headers=None):
    """200 with ``text``, JSON already (storage hands out compact JSON)."""
    headerlist = [('Content-Type', 'application/json')]
    headerlist.extend((headers or {}).items())
    return webob.Response(body=text.encode('utf-8'), status='200 OK',
                          headerlist=headerlist)


def head_response(size, headers):
    """200 to HEAD with the Content-Length a GET's body would have, when
    only the container's size was read."""
    headerlist = [('Content-Type', 'application/json')]
    headerlist.extend(headers.items())
    response = webob.Response(status='200 OK', headerlist=headerlist)
    response.content_length = size
    return response


def no_content(written):
    """204 to a write: the container's ETag (none once it is deleted),
    and the feed position of the change (none when nothing changed)."""
    headerlist = []
    if written.revision is not None:
        headerlist.append(('ETag', conditional.etag(written.revision)))
    if written.position is not None:
        headerlist.append((feed.CURSOR_HEADER,
                           feed.cursor_text(written.position)))
    return webob.Response(status='204 No Content', headerlist=headerlist)


def not_modified(headers):
    return webob.Response(status='304 Not Modified',
                          headerlist=list(headers.items()))
