"""Pure key-path operations on a container object."""

import pytest

from cloudprefs.storage import document
from cloudprefs.storage import exceptions


def test_set_creates_intermediates_without_touching_the_input():
    original = {'a': {'x': 1}}
    result = document.set_at_path(original, ['a', 'b', 'c'], 2)
    assert result == {'a': {'x': 1, 'b': {'c': 2}}}
    assert original == {'a': {'x': 1}}


@pytest.mark.parametrize('blocker', [None, 0, '', [], False])
def test_set_through_non_object_names_the_segment(blocker):
    with pytest.raises(exceptions.PathConflict) as caught:
        document.set_at_path({'a': {'b': blocker}}, ['a', 'b', 'c'], 1)
    assert caught.value.path == ['a', 'b']


def test_delete_keeps_parent_and_input():
    original = {'a': {'b': 1}}
    assert document.delete_at_path(original, ['a', 'b']) == {'a': {}}
    assert original == {'a': {'b': 1}}
    assert document.delete_at_path(original, ['a', 'b', 'c']) == original
    assert document.delete_at_path(original, ['x', 'y']) == original


def test_get_at_path():
    container = {'a': {'b': [1]}, 'n': None}
    assert document.get_at_path(container, ['a', 'b']) == [1]
    assert document.get_at_path(container, ['n']) is None
    for path in (['x'], ['a', 'b', '0'], ['n', 'x']):
        with pytest.raises(exceptions.NotFound):
            document.get_at_path(container, path)


def test_merge_is_top_level():
    assert document.merge_top_level({'a': {'x': 1}, 'b': 1},
                                    {'a': {'y': 1}}) == {'a': {'y': 1},
                                                         'b': 1}


def test_compact_json_and_size():
    text = document.compact_json({'é': [1, 2.0, None]})
    assert text == '{"é":[1,2.0,null]}'
    assert document.encoded_size(text) == len(text) + 1
