"""JSON Patch (RFC 6902) on a container's object, with JSON Pointers
(RFC 6901).

:func:`parse` turns a request's patch document into :class:`Operation`
values, or refuses it with ``ValueError`` (the API answers 400);
:func:`apply` runs them in order on a container, or refuses with
:class:`~cloudprefs.storage.exceptions.PatchConflict` (409) when a
``test`` fails or a location is missing. All or nothing: the write
algorithm stores the result only when every operation succeeded.
"""

import copy
import re
import typing

from cloudprefs.storage import document
from cloudprefs.storage import exceptions

OPERATIONS = ('add', 'remove', 'replace', 'move', 'copy', 'test')
_WITH_VALUE = ('add', 'replace', 'test')
_WITH_FROM = ('move', 'copy')
_NO_VALUE = object()
_BAD_ESCAPE = re.compile('~(?![01])')


class Operation(typing.NamedTuple):
    op: str
    path: typing.List[str]        # reference tokens; [] is the container
    value: typing.Any = _NO_VALUE
    source: typing.Optional[typing.List[str]] = None    # "from"

    def describe(self):
        return '%s %s' % (self.op, format_pointer(self.path))


def parse_pointer(text):
    """The reference tokens of a JSON Pointer; ValueError if it is not
    one."""
    if not isinstance(text, str):
        raise ValueError('a JSON Pointer is a string')
    if text == '':
        return []
    if not text.startswith('/'):
        raise ValueError('JSON Pointer %s does not start with "/"'
                         % _quoted(text))
    if _BAD_ESCAPE.search(text):
        raise ValueError('JSON Pointer %s has a "~" not followed by 0 or 1'
                         % _quoted(text))
    tokens = text[1:].split('/')
    return [token.replace('~1', '/').replace('~0', '~') for token in tokens]


def format_pointer(tokens):
    return ''.join('/' + token.replace('~', '~0').replace('/', '~1')
                   for token in tokens)


def _quoted(text):
    return '"%s"' % (text if len(text) <= 60 else text[:57] + '...')


def parse(document):
    """The operations of a patch document (a JSON array of operation
    objects); ValueError saying what is wrong with it."""
    if not isinstance(document, list):
        raise ValueError('a JSON Patch is an array of operations')
    operations = []
    for index, item in enumerate(document):
        try:
            operations.append(_parse_operation(item))
        except ValueError as error:
            raise ValueError('operation %d: %s' % (index, error))
    return operations


def _parse_operation(item):
    if not isinstance(item, dict):
        raise ValueError('an operation is an object')
    op = item.get('op')
    if op not in OPERATIONS:
        raise ValueError('"op" must be one of %s' % ', '.join(OPERATIONS))
    if 'path' not in item:
        raise ValueError('"path" is missing')
    path = parse_pointer(item['path'])
    if op in _WITH_VALUE:
        if 'value' not in item:
            raise ValueError('"value" is missing')
        value = item['value']
        if not path and op != 'test' and not isinstance(value, dict):
            raise ValueError('the container ("path": "") can only be an '
                             'object')
        return Operation(op, path, value)
    if op in _WITH_FROM:
        if 'from' not in item:
            raise ValueError('"from" is missing')
        source = parse_pointer(item['from'])
        if op == 'move' and source != path \
                and path[:len(source)] == source:
            raise ValueError('a value cannot move into itself')
        return Operation(op, path, source=source)
    if not path:     # remove
        raise ValueError('the container itself cannot be removed')
    return Operation(op, path)


def apply(container, operations, max_depth):
    """The container after ``operations``. ``container`` is changed in
    place: the write algorithm hands each attempt one freshly parsed, and
    drops it if an operation fails. Values are copied out of the
    operations, which a retry applies again.

    Raises PatchConflict for a failed ``test`` or a missing location,
    TooDeep when a value would land more than ``max_depth`` levels down.
    """
    root = container
    for index, operation in enumerate(operations):
        try:
            root = _APPLY[operation.op](root, operation, max_depth)
        except _Conflict as conflict:
            raise exceptions.PatchConflict(index, operation.describe(),
                                           str(conflict))
    # Still an object: only _put replaces the root, and only with one.
    return root


class _Conflict(Exception):
    pass


def _add(root, operation, max_depth):
    value = copy.deepcopy(operation.value)
    return _put(root, operation.path, value, max_depth, insert=True)


def _replace(root, operation, max_depth):
    _value_at(root, operation.path)      # must exist
    value = copy.deepcopy(operation.value)
    return _put(root, operation.path, value, max_depth, insert=False)


def _remove(root, operation, max_depth):
    parent, key = _locate(root, operation.path)
    del parent[key]
    return root


def _move(root, operation, max_depth):
    if operation.source == operation.path:
        _value_at(root, operation.source)      # must exist
        return root
    parent, key = _locate(root, operation.source)
    value = parent.pop(key)
    return _put(root, operation.path, value, max_depth, insert=True)


def _copy(root, operation, max_depth):
    value = copy.deepcopy(_value_at(root, operation.source))
    return _put(root, operation.path, value, max_depth, insert=True)


def _test(root, operation, max_depth):
    if not json_equal(_value_at(root, operation.path), operation.value):
        raise _Conflict('the value there is not the one tested')
    return root


_APPLY = {'add': _add, 'remove': _remove, 'replace': _replace,
          'move': _move, 'copy': _copy, 'test': _test}


def _value_at(root, path):
    if not path:
        return root
    parent, key = _locate(root, path)
    return parent[key]


def _locate(root, path):
    """(parent, key or index) of an existing location (path not [])."""
    parent = _container_at(root, path[:-1])
    token = path[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise _Conflict('no member %s there' % _quoted(token))
        return parent, token
    index = _array_index(token, len(parent) - 1)
    return parent, index


def _container_at(root, path):
    """The object or array at ``path``; _Conflict if there is none."""
    value = root
    for depth, token in enumerate(path):
        if isinstance(value, dict):
            if token not in value:
                raise _Conflict('%s does not exist'
                                % format_pointer(path[:depth + 1]))
            value = value[token]
        elif isinstance(value, list):
            value = value[_array_index(token, len(value) - 1)]
        else:
            raise _Conflict('%s is not an object or an array'
                            % (format_pointer(path[:depth]) or 'the root'))
    if not isinstance(value, (dict, list)):
        raise _Conflict('%s is not an object or an array'
                        % (format_pointer(path) or 'the root'))
    return value


def _array_index(token, highest):
    """The array index ``token`` names, at most ``highest``."""
    if not token.isascii() or not token.isdigit() or \
            (len(token) > 1 and token[0] == '0'):
        raise _Conflict('%s is not an array index' % _quoted(token))
    index = int(token) if len(token) <= 18 else highest + 1
    if index > highest:
        raise _Conflict('index %s is past the end of the array'
                        % _quoted(token))
    return index


def _put(root, path, value, max_depth, insert):
    """Put ``value`` at ``path``: add (``insert``: an array index shifts
    the rest, ``-`` appends) or replace."""
    deepest = len(path) + document.depth(value)
    if deepest > max_depth:
        raise exceptions.TooDeep(deepest, max_depth)
    if not path:
        if not isinstance(value, dict):
            raise _Conflict('the container can only be an object')
        return value
    parent = _container_at(root, path[:-1])
    token = path[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif insert:
        if token == '-':
            parent.append(value)
        else:
            parent.insert(_array_index(token, len(parent)), value)
    else:
        parent[_array_index(token, len(parent) - 1)] = value
    return root


def json_equal(left, right):
    """Equality as RFC 6902's ``test`` means it: numbers by value, but
    ``true`` is not ``1``; members in any order; arrays in order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            json_equal(value, right[key]) for key, value in left.items())
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right))
    return type(left) is type(right) and left == right
