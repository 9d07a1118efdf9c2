"""Splitting the request path into container name and key-path segments.

Segments are decoded from the raw, still percent-encoded path, so ``%2F``
inside a segment is part of the name rather than a separator. Servers give
the raw path as ``RAW_PATH_INFO`` (eventlet) or ``REQUEST_URI`` (uwsgi,
mod_wsgi, gunicorn). Where a server gives neither, the decoded
``PATH_INFO`` is used and an encoded ``%2F`` acts as a separator.
"""

import urllib.parse

from cloudprefs.api import errors

MAX_SEGMENT_BYTES = 255

# Set by the URL map when it mounts an application: the raw path below the
# mount point, taken before any middleware rewrites SCRIPT_NAME.
RAW_PATH_KEY = 'cloudprefs.raw_path_info'


def _invalid(detail):
    return errors.APIError(400, errors.INVALID_PATH, detail)


def raw_request_path(environ):
    """The raw request path (no query string), or None if not given."""
    raw = environ.get('RAW_PATH_INFO')
    if raw is None:
        uri = environ.get('REQUEST_URI')
        if uri is None:
            return None
        raw = uri.split('?', 1)[0]
        if not raw.startswith('/'):
            # An absolute-form request target (http://host/path).
            raw = urllib.parse.urlsplit(raw).path
    return raw


def strip_prefix(raw_path, prefix):
    """Remove the decoded ``prefix`` (like ``/v1``) from ``raw_path``.

    Returns the raw remainder, or None when the raw path does not start
    with segments that decode to the prefix.
    """
    prefix_segments = [s for s in prefix.split('/') if s]
    raw_segments = raw_path.split('/')
    if raw_segments and raw_segments[0] == '':
        raw_segments = raw_segments[1:]
    head = raw_segments[:len(prefix_segments)]
    if [urllib.parse.unquote(s) for s in head] != prefix_segments:
        return None
    rest = raw_segments[len(prefix_segments):]
    return '/' + '/'.join(rest) if rest else ''


def raw_path_info(environ):
    """The raw equivalent of PATH_INFO for this application."""
    raw = environ.get(RAW_PATH_KEY)
    if raw is not None:
        return raw
    request_path = raw_request_path(environ)
    if request_path is not None:
        rest = strip_prefix(request_path, environ.get('SCRIPT_NAME', ''))
        if rest is not None:
            return rest
    return urllib.parse.quote(environ.get('PATH_INFO', ''), safe='/')


def normalize(raw_path):
    """Drop one trailing slash and refuse empty segments.

    Returns a path starting with ``/`` (``/`` alone for the root).
    """
    if raw_path in ('', '/'):
        return '/'
    if not raw_path.startswith('/'):
        raise _invalid('The path must start with "/".')
    if raw_path.endswith('/'):
        raw_path = raw_path[:-1]
    if raw_path == '' or raw_path.endswith('/') or '//' in raw_path:
        raise _invalid('The path has an empty segment.')
    return raw_path


def decode_segment(raw_segment):
    """Percent-decode one segment and check it is a valid name or key."""
    try:
        segment = urllib.parse.unquote_to_bytes(raw_segment).decode('utf-8')
    except UnicodeDecodeError:
        raise _invalid('A path segment is not valid UTF-8.')
    if segment == '':
        raise _invalid('The path has an empty segment.')
    if segment in ('.', '..'):
        raise _invalid('The path segments "." and ".." are not allowed.')
    if '\x00' in segment:
        raise _invalid('A path segment contains U+0000.')
    if len(segment.encode('utf-8')) > MAX_SEGMENT_BYTES:
        raise _invalid('A path segment is longer than %d bytes.'
                       % MAX_SEGMENT_BYTES)
    return segment


def decode_key_path(raw_key_path):
    return [decode_segment(s) for s in raw_key_path.split('/')]
