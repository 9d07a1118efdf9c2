"""Reading and validating JSON request bodies.

Bodies are JSON (RFC 8259) in UTF-8 whatever the Content-Type. Refused
with 400: invalid UTF-8 or JSON, NaN and Infinity, numbers too large for a
double, lone surrogates, duplicate keys in one object, integers outside
signed 64 bits; with 413: bodies over ``[api] max_request_body_size``.
"""

import json
import logging
import re

from cloudprefs.api import errors
from cloudprefs.storage import document
from cloudprefs.storage import heavy_work

LOG = logging.getLogger(__name__)

INT64_MIN = -2 ** 63
INT64_MAX = 2 ** 63 - 1

# A lone surrogate can only come from a \uD800-\uDFFF escape (the strict
# UTF-8 decode refuses encoded ones), so only bodies with such an escape
# need the slower check of every string.
_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')
_SURROGATE = re.compile('[\ud800-\udfff]')


class _Invalid(ValueError):
    pass


def _invalid_json(detail):
    return errors.APIError(400, errors.INVALID_JSON, detail)


def _object_without_duplicates(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise _Invalid('duplicate key %s in one object'
                               % json.dumps(key))
            seen.add(key)
    return obj


def _int64(text):
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _Invalid('integer %s is outside signed 64 bits'
                       % (text if len(text) < 40 else text[:37] + '...'))
    return value


def _finite_float(text):
    value = float(text)
    if value in (float('inf'), float('-inf')):
        raise _Invalid('number %s is too large for a double' % text[:40])
    return value


def _no_constants(name):
    raise _Invalid('%s is not JSON' % name)


def _has_lone_surrogate(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def read_body(request, max_size):
    """Return the request body as bytes; 413 past ``max_size``.

    400 for a body that does not arrive whole: a malformed chunked body,
    or a client that disconnects before sending its Content-Length (that
    is logged at INFO, without a traceback: nobody is there to answer).
    """
    too_large = errors.APIError(
        413, errors.BODY_TOO_LARGE,
        'The request body is larger than %d bytes.' % max_size)
    environ = request.environ
    length = request.content_length
    stream = environ['wsgi.input']
    chunked = 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '')
    if length is None and not chunked:
        return b''
    if length is None and not _decodes_chunked_input(environ):
        # uwsgi, for one, hands the application no byte of a chunked body:
        # answering as if the body were empty would store {} and say 204.
        raise errors.APIError(
            411, errors.LENGTH_REQUIRED,
            'This server does not read chunked request bodies; send '
            'Content-Length.')
    if length is not None and length > max_size:
        raise too_large
    try:
        data = stream.read(length if length is not None else max_size + 1)
    except ValueError as error:     # a malformed chunk (ChunkReadError)
        raise errors.APIError(400, errors.BAD_REQUEST,
                              'The chunked request body is malformed.'
                              ) from error
    except OSError as error:        # the connection broke while reading
        LOG.info('The client went away while sending its body: %s', error)
        raise _incomplete() from error
    if length is not None and len(data) < length:
        LOG.info('The client went away after %d of the %d body bytes it '
                 'announced', len(data), length)
        raise _incomplete()
    if len(data) > max_size:
        raise too_large
    return data


def _decodes_chunked_input(environ):
    """Whether the WSGI server decodes a chunked body into wsgi.input, as
    it says with wsgi.input_terminated (cloudprefs-api, mod_wsgi,
    gunicorn)."""
    return bool(environ.get('wsgi.input_terminated'))


def _incomplete():
    return errors.APIError(400, errors.BAD_REQUEST,
                           'The request body ended before its '
                           'Content-Length.')


def parse(raw):
    """Parse a JSON document from bytes, by the rules above."""
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise _invalid_json('The request body is not valid UTF-8.')
    try:
        with heavy_work.turns.step(len(raw)):
            value = json.loads(text,
                               object_pairs_hook=_object_without_duplicates,
                               parse_int=_int64, parse_float=_finite_float,
                               parse_constant=_no_constants)
    except _Invalid as error:
        raise _invalid_json('The request body is not accepted: %s.' % error)
    except json.JSONDecodeError as error:
        raise _invalid_json('The request body is not valid JSON: %s.'
                            % error)
    except (RecursionError, ValueError):
        # RecursionError: absurdly deep nesting; ValueError: an integer
        # with more digits than Python converts.
        raise _invalid_json('The request body is not accepted JSON.')
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise _invalid_json('The request body contains a lone surrogate.')
    return value


# Object/array nesting levels of a value; a scalar counts 0.
depth = document.depth


def too_deep(total, max_depth):
    """The error of a write that would nest ``total`` levels."""
    return errors.APIError(
        400, errors.TOO_DEEP,
        'The write would nest %d levels below the container; the limit '
        'is %d.' % (total, max_depth))


def check_depth(path_length, value, max_depth):
    total = path_length + depth(value)
    if total > max_depth:
        raise too_deep(total, max_depth)
