"""Where the members of a large container lie in its compact JSON text.

A SQL driver stores a container as one compact JSON text. Reading one
path inside a large one would mean parsing all of it, in Python or in the
database (PostgreSQL's ``json`` functions parse about 100 MB/s: 40 ms for
4 MB). So a container of at least :data:`INDEX_FROM_BYTES` is stored with
an index: for each top-level member, the byte offset and length of its
value inside the text; and for a top-level member that is itself an
object of at least :data:`INDEX_FROM_BYTES`, the same for each of its
members. A path read then asks the database for the index entries of the
path's first one and two segments (a key lookup in an indexed ``jsonb``
on PostgreSQL, a JSON function elsewhere) and for just those bytes of the
text, and parses only them.

The index is JSON: ``{"<key>": [offset, length] or [offset, length, 1],
...}``. A key is the path's segments, each percent-encoded
(:func:`urllib.parse.quote` with nothing safe but letters, digits and
``_.-~``), joined by ``/``: plain ASCII that needs no quoting inside a
SQL/JSON path expression, and never ambiguous. A third element 1 says the
member's own members are in the index, so a second segment missing from
it is missing from the container.

A container with more members to index (its top-level ones and those of
its large top-level objects) than one per :data:`BYTES_PER_ENTRY` bytes
of its text has no index and is read whole. An entry costs a few
microseconds to build, in one step no other request of the process can
interrupt, and about 20 bytes to store: worth it for members of some size
(20,000 members of 190 bytes: an index of 11% of the text), not for tiny
ones (1 MB of 90,000 members of 11 bytes had an index of 1.8 MB, built in
160 ms on every write, while parsing the whole text takes 20-40 ms).

Offsets count bytes of the UTF-8 text. The index is only as good as the
revision it was built for: drivers store that revision beside it and use
the index only when it is the container's, so a row written by code that
does not know the index (during a rolling upgrade) is read whole.
"""

import json
import re
import typing
import urllib.parse

from cloudprefs.storage import document

# 64 KiB parses in about a millisecond: below it, reading the whole text
# costs no more than the index lookup, and the index is not built.
INDEX_FROM_BYTES = 64 * 1024
# An index is at most about a third of its container's text.
BYTES_PER_ENTRY = 64
_encode_key = json.encoder.encode_basestring
# What compact_json writes, per member, to learn its length: made once
# (JSONEncoder.encode would build it again for every call).
if json.encoder.c_make_encoder is not None:
    _c_encoder = json.encoder.c_make_encoder(
        None, None, _encode_key, None, ':', ',', False, False, False)

    def _encode(value):
        return ''.join(_c_encoder(value, 0))
else:   # an interpreter without the C accelerator
    _encode = document.compact_json
# Segments made of these alone are their own percent-encoding.
_NEEDS_NO_QUOTING = re.compile(r'[A-Za-z0-9_.~-]*')


class Location(typing.NamedTuple):
    """Where the deepest indexed prefix of a path lies in the text."""

    depth: int      # segments of the path it covers (1 or 2)
    offset: int     # bytes from the start of the text
    length: int     # bytes


def index_key(path) -> str:
    """The index key of a path (a list of segments)."""
    return '/'.join(
        segment if _NEEDS_NO_QUOTING.fullmatch(segment)
        else urllib.parse.quote(segment, safe='') for segment in path)


def lookup_keys(path):
    """The keys to look up for ``path``: its first segment, and its
    first two (None for a path of one segment)."""
    first = index_key(path[:1])
    return first, (index_key(path[:2]) if len(path) > 1 else None)


def build(value: dict, size: int) -> typing.Optional[str]:
    """The index of a container (the object ``value``, whose compact JSON
    is ``size`` bytes) as JSON text; None below :data:`INDEX_FROM_BYTES`.
    """
    room = size // BYTES_PER_ENTRY - len(value)
    if size < INDEX_FROM_BYTES or not value or room < 0:
        return None
    entries = {}
    try:
        end = _index_members(value, 0, (), entries, room=[room])
    except _TooManyEntries:
        return None
    if end != size:     # cannot happen with one encoder; never trust it
        raise AssertionError('index of %d bytes for %d' % (end, size))
    return document.compact_json(entries)


class _TooManyEntries(Exception):
    pass


def _index_members(obj, offset, prefix, entries, room=None):
    """Add an entry for each member of the object ``obj`` whose compact
    JSON starts at byte ``offset``; return where that JSON ends.

    With ``room`` (a one-element list: how many more entries may be
    added), the members of its large object members are indexed too,
    within that room."""
    position = offset + 1                       # past "{"
    for key, member in obj.items():
        key_text = _encode_key(key)
        position += (len(key_text) if key_text.isascii()
                     else len(key_text.encode())) + 1           # "key":
        member_text = _encode(member)
        length = (len(member_text) if member_text.isascii()
                  else len(member_text.encode()))
        path = prefix + (key,)
        if (room is not None and length >= INDEX_FROM_BYTES
                and isinstance(member, dict)):
            room[0] -= len(member)
            if room[0] < 0:
                raise _TooManyEntries()
            entries[index_key(path)] = [position, length, 1]
            _index_members(member, position, path, entries)
        else:
            entries[index_key(path)] = [position, length]
        position += length + 1                  # the value and "," or "}"
    return position if obj else position + 1


def locate(path, first_entry, second_entry):
    """Where to read ``path``, given the index entries of its first
    segment and first two segments (None where the index has none).

    Returns a :class:`Location`, or None when the index shows that
    nothing is at the path.
    """
    if first_entry is None:
        return None     # every top-level member is in the index
    if len(path) > 1:
        if second_entry is not None:
            return Location(2, second_entry[0], second_entry[1])
        if len(first_entry) > 2 and first_entry[2]:
            return None     # its members are indexed; this one is not
    return Location(1, first_entry[0], first_entry[1])
