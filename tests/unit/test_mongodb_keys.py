"""The MongoDB driver's key escaping is reversible and MongoDB-safe."""

import hypothesis
from hypothesis import strategies

from cloudprefs.storage import mongodb_keys as mongodb


@hypothesis.given(strategies.text())
def test_escape_round_trips(key):
    assert mongodb.unescape_key(mongodb.escape_key(key)) == key


@hypothesis.given(strategies.text(), strategies.text())
def test_escape_is_injective(first, second):
    if first != second:
        assert mongodb.escape_key(first) != mongodb.escape_key(second)


@hypothesis.given(strategies.text())
def test_escaped_keys_are_valid_field_names(key):
    escaped = mongodb.escape_key(key)
    assert escaped
    assert '.' not in escaped and '\x00' not in escaped
    assert not escaped.startswith('$')


def test_plain_keys_are_stored_as_they_are():
    for key in ('build_config', 'a-b', 'é', 'a$'):
        assert mongodb.escape_key(key) == key


JSON = strategies.recursive(
    strategies.none() | strategies.booleans() | strategies.integers()
    | strategies.text(),
    lambda children: strategies.lists(children)
    | strategies.dictionaries(strategies.text(), children))


@hypothesis.given(JSON)
def test_values_round_trip(value):
    assert mongodb.unescape_value(mongodb.escape_value(value)) == value
