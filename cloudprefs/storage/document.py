"""Pure operations on a container's JSON object.

The key-path rules of the API live here once; drivers only make them
atomic in their own store. Every function returns a new top-level object
(nested objects along the path are copied) so that a caller's retry after
a lost compare-and-swap starts from an untouched value.
"""

import json

from cloudprefs.storage import exceptions


def compact_json(value):
    """Serialize ``value`` as compact UTF-8 JSON text (a ``str``)."""
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'),
                      allow_nan=False)


def parse(text):
    """The value of a stored container's compact JSON text."""
    return json.loads(text)


def encoded_size(text):
    """Bytes of ``text`` in UTF-8; only non-ASCII characters add any."""
    if text.isascii():
        return len(text)
    return len(text.encode('utf-8'))


def depth(value):
    """Object/array nesting levels of ``value``; a scalar counts 0."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > deepest:
            deepest = level
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def get_at_path(container, path):
    """Return the value at ``path``; NotFound if missing or not reachable."""
    value = container
    for segment in path:
        if not isinstance(value, dict) or segment not in value:
            raise exceptions.NotFound()
        value = value[segment]
    return value


def text_at_path(text, path):
    """The compact JSON of the value at ``path`` in the compact JSON
    ``text``; None when nothing is there.

    Byte for byte what ``text`` holds at that place: decoding and encoding
    again the output of :func:`compact_json` gives it back unchanged
    (floats are written by ``repr``, which round-trips; escapes are
    written one way only).
    """
    if not path:
        return text
    try:
        return compact_json(get_at_path(json.loads(text), path))
    except exceptions.NotFound:
        return None


def merge_top_level(container, obj):
    """Replace each of ``obj``'s top-level keys in ``container``."""
    merged = dict(container)
    merged.update(obj)
    return merged


def set_at_path(container, path, value):
    """Set ``value`` at ``path``, creating missing intermediate objects.

    Raises PathConflict when a segment before the last meets a value that
    is not an object; the last segment replaces whatever was there.
    """
    result = dict(container)
    parent = result
    for depth, segment in enumerate(path[:-1]):
        child = parent.get(segment)
        if child is None and segment not in parent:
            child = {}
        elif not isinstance(child, dict):
            raise exceptions.PathConflict(path[:depth + 1])
        else:
            child = dict(child)
        parent[segment] = child
        parent = child
    parent[path[-1]] = value
    return result


def merge_patch(target, patch):
    """RFC 7396 JSON Merge Patch: recursive merge, ``null`` deletes."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge_patch_at_path(container, path, patch):
    """Apply a merge patch to the value at ``path`` (the container itself
    for an empty path), creating it and missing objects like set_at_path.
    """
    if not path:
        return merge_patch(container, patch)
    try:
        current = get_at_path(container, path)
    except exceptions.NotFound:
        current = None
    return set_at_path(container, path, merge_patch(current, patch))


def delete_at_path(container, path):
    """Remove the key at ``path``; a missing key or non-object is a no-op."""
    result = dict(container)
    parent = result
    for segment in path[:-1]:
        child = parent.get(segment)
        if not isinstance(child, dict):
            return result
        child = dict(child)
        parent[segment] = child
        parent = child
    parent.pop(path[-1], None)
    return result
