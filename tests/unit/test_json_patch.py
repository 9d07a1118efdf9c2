"""JSON Patch (RFC 6902) on containers: the RFC's own examples and the
rules of ours (the container stays an object, depth is bounded)."""

import json

import pytest

from cloudprefs.storage import exceptions
from cloudprefs.storage import json_patch

MAX_DEPTH = 32


def patched(container, patch, max_depth=MAX_DEPTH):
    # The write algorithm parses the stored text afresh for each attempt.
    fresh = json.loads(json.dumps(container))
    return json_patch.apply(fresh, json_patch.parse(patch), max_depth)


# RFC 6902, appendix A (those whose document is an object).
@pytest.mark.parametrize('container,patch,expected', [
    ({'foo': 'bar'}, [{'op': 'add', 'path': '/baz', 'value': 'qux'}],
     {'baz': 'qux', 'foo': 'bar'}),
    ({'foo': ['bar', 'baz']},
     [{'op': 'add', 'path': '/foo/1', 'value': 'qux'}],
     {'foo': ['bar', 'qux', 'baz']}),
    ({'baz': 'qux', 'foo': 'bar'}, [{'op': 'remove', 'path': '/baz'}],
     {'foo': 'bar'}),
    ({'foo': ['bar', 'qux', 'baz']}, [{'op': 'remove', 'path': '/foo/1'}],
     {'foo': ['bar', 'baz']}),
    ({'baz': 'qux', 'foo': 'bar'},
     [{'op': 'replace', 'path': '/baz', 'value': 'boo'}],
     {'baz': 'boo', 'foo': 'bar'}),
    ({'foo': {'bar': 'baz', 'waldo': 'fred'}, 'qux': {'corge': 'grault'}},
     [{'op': 'move', 'from': '/foo/waldo', 'path': '/qux/thud'}],
     {'foo': {'bar': 'baz'}, 'qux': {'corge': 'grault', 'thud': 'fred'}}),
    ({'foo': ['all', 'grass', 'cows', 'eat']},
     [{'op': 'move', 'from': '/foo/1', 'path': '/foo/3'}],
     {'foo': ['all', 'cows', 'eat', 'grass']}),
    ({'baz': 'qux', 'foo': ['a', 2, 'c']},
     [{'op': 'test', 'path': '/baz', 'value': 'qux'},
      {'op': 'test', 'path': '/foo/1', 'value': 2}],
     {'baz': 'qux', 'foo': ['a', 2, 'c']}),
    ({'foo': 'bar'},
     [{'op': 'add', 'path': '/child', 'value': {'grandchild': {}}}],
     {'foo': 'bar', 'child': {'grandchild': {}}}),
    ({'foo': 'bar'},
     [{'op': 'add', 'path': '/baz', 'value': 'qux', 'xyz': 123}],
     {'foo': 'bar', 'baz': 'qux'}),
    ({'foo': ['bar']}, [{'op': 'add', 'path': '/foo/-',
                         'value': ['abc', 'def']}],
     {'foo': ['bar', ['abc', 'def']]}),
    ({'/': 9, '~1': 10}, [{'op': 'test', 'path': '/~01', 'value': 10}],
     {'/': 9, '~1': 10}),
    ({'foo': 1}, [{'op': 'copy', 'from': '/foo', 'path': '/bar'}],
     {'foo': 1, 'bar': 1}),
    # The whole container replaced, tested, or copied into itself.
    ({'a': 1}, [{'op': 'replace', 'path': '', 'value': {'b': 2}}],
     {'b': 2}),
    ({'a': 1}, [{'op': 'test', 'path': '', 'value': {'a': 1.0}}],
     {'a': 1}),
    ({'a': 1}, [{'op': 'copy', 'from': '', 'path': '/self'}],
     {'a': 1, 'self': {'a': 1}}),
    ({'a': 1}, [], {'a': 1}),
])
def test_operations_apply(container, patch, expected):
    assert patched(container, patch) == expected


@pytest.mark.parametrize('container,patch,index', [
    # RFC 6902 A.9, A.12, A.15: a failed test, a missing parent, a
    # number that is not the string tested.
    ({'baz': 'qux'}, [{'op': 'test', 'path': '/baz', 'value': 'bar'}], 0),
    ({'foo': 'bar'}, [{'op': 'add', 'path': '/baz/bat', 'value': 'q'}], 0),
    ({'/': 9, '~1': 10}, [{'op': 'test', 'path': '/~01', 'value': '10'}],
     0),
    ({'a': 1}, [{'op': 'test', 'path': '/a', 'value': True}], 0),
    ({'a': True}, [{'op': 'test', 'path': '/a', 'value': 1}], 0),
    ({'a': 1}, [{'op': 'remove', 'path': '/b'}], 0),
    ({'a': 1}, [{'op': 'replace', 'path': '/b', 'value': 1}], 0),
    ({'a': [1]}, [{'op': 'remove', 'path': '/a/1'}], 0),
    ({'a': [1]}, [{'op': 'add', 'path': '/a/2', 'value': 0}], 0),
    ({'a': [1]}, [{'op': 'add', 'path': '/a/01', 'value': 0}], 0),
    ({'a': [1]}, [{'op': 'replace', 'path': '/a/-', 'value': 0}], 0),
    ({'a': [1]}, [{'op': 'add', 'path': '/a/99999999999999999999',
                   'value': 0}], 0),
    ({'a': 'text'}, [{'op': 'add', 'path': '/a/b', 'value': 0}], 0),
    ({'a': 1}, [{'op': 'move', 'from': '/x', 'path': '/y'}], 0),
    ({'a': 1}, [{'op': 'copy', 'from': '/a', 'path': '', }], 0),
    ({'a': 1}, [{'op': 'add', 'path': '/b', 'value': 2},
                {'op': 'test', 'path': '/b', 'value': 3}], 1),
])
def test_a_conflict_names_its_operation(container, patch, index):
    with pytest.raises(exceptions.PatchConflict) as raised:
        patched(container, patch)
    assert raised.value.index == index


@pytest.mark.parametrize('patch', [
    {'op': 'add', 'path': '/a', 'value': 1},       # not an array
    [1],
    [{'path': '/a', 'value': 1}],
    [{'op': 'merge', 'path': '/a', 'value': 1}],
    [{'op': 'add', 'value': 1}],
    [{'op': 'add', 'path': 'a', 'value': 1}],
    [{'op': 'add', 'path': '/a~2', 'value': 1}],
    [{'op': 'add', 'path': '/a~', 'value': 1}],
    [{'op': 'add', 'path': 7, 'value': 1}],
    [{'op': 'add', 'path': '/a'}],
    [{'op': 'test', 'path': '/a'}],
    [{'op': 'copy', 'path': '/a'}],
    [{'op': 'move', 'from': '/a', 'path': '/a/b'}],
    [{'op': 'remove', 'path': ''}],
    [{'op': 'replace', 'path': '', 'value': [1]}],
    [{'op': 'add', 'path': '', 'value': 'text'}],
])
def test_a_malformed_patch_is_refused(patch):
    with pytest.raises(ValueError):
        json_patch.parse(patch)


def test_values_are_copied_so_a_retry_starts_from_the_same_patch():
    operations = json_patch.parse([
        {'op': 'add', 'path': '/a', 'value': {}},
        {'op': 'add', 'path': '/a/b', 'value': 1}])
    for _attempt in range(2):
        assert json_patch.apply({}, operations, MAX_DEPTH) == {
            'a': {'b': 1}}
    assert operations[0].value == {}


def test_a_value_moved_or_copied_too_deep_is_refused():
    deep = {'a': {'b': {'c': 1}}}       # 3 levels
    assert patched(deep, [{'op': 'copy', 'from': '/a', 'path': '/x'}],
                   max_depth=3)
    with pytest.raises(exceptions.TooDeep):
        patched(deep, [{'op': 'copy', 'from': '/a', 'path': '/a/b/d'}],
                max_depth=3)
    with pytest.raises(exceptions.TooDeep):
        patched({}, [{'op': 'add', 'path': '/a',
                      'value': {'b': {'c': {}}}}], max_depth=3)


def test_pointers_round_trip():
    for tokens in ([], [''], ['a/b', 'm~n'], ['~1', '0']):
        text = json_patch.format_pointer(tokens)
        assert json_patch.parse_pointer(text) == tokens
