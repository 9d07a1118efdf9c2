"""Which containers get a path index."""

import json

from cloudprefs.storage import document
from cloudprefs.storage import path_index


def _index(value):
    text = document.compact_json(value)
    index = path_index.build(value, len(text.encode()))
    return None if index is None else json.loads(index)


def test_a_large_container_of_members_of_some_size_is_indexed():
    # The benchmark's large container: 20,000 members of ~190 bytes.
    value = {'k%05d' % i: {'name': 'item', 'note': 'x' * 150}
             for i in range(20000)}
    index = _index(value)
    assert len(index) == 20000
    offset, length = index['k00007']
    text = document.compact_json(value)
    assert json.loads(text[offset:offset + length]) == value['k00007']


def test_a_container_of_many_tiny_members_is_not():
    # 1 MB of 90,000 members: the index took 160 ms per write and 1.8 MB.
    value = {'k%d' % i: i % 10 for i in range(90000)}
    assert _index(value) is None


def test_one_member_per_so_many_bytes_at_most():
    # Each member "kNNNNN":"xx...x" and its comma: 64 bytes.
    value = {'k%05d' % i: 'x' * 52 for i in range(2000)}
    size = len(document.compact_json(value))
    assert size == 2000 * path_index.BYTES_PER_ENTRY + 1
    assert len(_index(value)) == 2000
    value['k99999'] = 0
    assert _index(value) is None


def test_the_members_of_large_members_count_too():
    inner = {'m%d' % i: 'x' * 60 for i in range(3000)}
    assert len(_index({'a': inner, 'b': 1})) == 2 + 3000
    tiny = {'m%d' % i: 0 for i in range(20000)}
    assert _index({'a': tiny, 'b': 'x' * 100000}) is None
