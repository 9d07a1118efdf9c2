"""Which containers get a path index."""

import json

from cloudprefs.storage import document
from cloudprefs.storage import path_index


def _index(value):
    text = document.compact_json(value)
    index = path_index.build(value, len(text))
    return None if index is None else json.loads(index)


def test_a_large_container_of_few_members_is_indexed():
    value = {'m%d' % i: 'x' * 100 for i in range(1000)}
    index = _index(value)
    assert len(index) == 1000
    offset, length = index['m7']
    text = document.compact_json(value)
    assert text[offset:offset + length] == '"%s"' % ('x' * 100)


def test_a_container_of_many_small_members_is_not():
    # 1 MB of 90,000 members: the index took 160 ms per write and 1.8 MB.
    value = {'k%d' % i: i % 10 for i in range(90000)}
    assert _index(value) is None
    most = {'k%d' % i: 'x' * 20 for i in range(path_index.MOST_ENTRIES)}
    assert len(_index(most)) == path_index.MOST_ENTRIES
    most['one-more'] = 1
    assert _index(most) is None


def test_the_members_of_large_members_count_too():
    inner = {'m%d' % i: 'x' * 30 for i in range(3000)}
    assert len(_index({'a': inner, 'b': 1})) == 2 + 3000
    assert _index({'a': inner, 'b': dict(inner), 'c': 1}) is None
