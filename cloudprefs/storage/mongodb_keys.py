"""How the MongoDB driver stores object keys.

MongoDB refuses U+0000 in field names and cannot address keys containing
``.`` or starting with ``$`` in update paths and projections, so every key
of a stored container is escaped: ``%`` itself first, so that every ``%``
in a stored key starts an escape; ``.`` and U+0000 anywhere; ``$`` only in
first place (MongoDB's rule). The empty key is stored as a lone ``%``,
which no other key can produce. Stored documents stay readable with
ordinary MongoDB tools.
"""

import re

_NEEDS_ESCAPE = re.compile(r'[%.\x00]|^\$')
_ESCAPES = {'%': '%25', '.': '%2E', '\x00': '%00', '$': '%24'}
_ESCAPED = re.compile(r'%(25|2E|00|24)')
_UNESCAPES = {'25': '%', '2E': '.', '00': '\x00', '24': '$'}


def escape_key(key):
    if key == '':
        return '%'
    if not _NEEDS_ESCAPE.search(key):
        return key
    return _NEEDS_ESCAPE.sub(lambda match: _ESCAPES[match.group()], key)


def unescape_key(key):
    if key == '%':
        return ''
    if '%' not in key:
        return key
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group(1)], key)


def escape_value(value):
    if isinstance(value, dict):
        return {escape_key(k): escape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_value(item) for item in value]
    return value


def unescape_value(value):
    if isinstance(value, dict):
        return {unescape_key(k): unescape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape_value(item) for item in value]
    return value
