"""If-Match / If-None-Match lists: the same answers as the RFC 9110
grammar, in time linear in the header's length."""

import re
import time

import hypothesis
from hypothesis import strategies
import pytest

from cloudprefs.api import conditional
from cloudprefs.api import errors

# The grammar as a (backtracking) pattern, as the parser once was: the
# reference for short values.
_REFERENCE_ELEMENT = re.compile(
    r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|\Z)')


def reference(header):
    if header.strip(' \t') == '*':
        return '*'
    tags, position = [], 0
    while position < len(header):
        match = _REFERENCE_ELEMENT.match(header, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        weak, opaque = match.groups()
        if opaque is not None:
            tags.append((weak is not None, '"%s"' % opaque))
    return tags or None


def parse(header):
    try:
        return conditional._entity_tags(header, 'If-Match')
    except errors.APIError:
        return None


@pytest.mark.parametrize('header, expected', [
    ('"1"', [(False, '"1"')]),
    ('W/"1", "2"', [(True, '"1"'), (False, '"2"')]),
    (' , "1" ,, ', [(False, '"1"')]),
    ('"a,b"', [(False, '"a,b"')]),
    ('*', '*'), (' * ', '*'),
    ('', None), (' , ', None), ('"1" "2"', None), ('1', None),
    ('"1', None), ('W/ "1"', None), ('"1",x', None)])
def test_lists(header, expected):
    assert parse(header) == expected == reference(header)


@hypothesis.given(strategies.text(alphabet=' \t,"W/1a*\x7f\x80', max_size=30))
@hypothesis.settings(max_examples=2000, deadline=None)
def test_the_same_answers_as_the_grammar(header):
    assert parse(header) == reference(header)


@pytest.mark.parametrize('shape', [
    lambda n: ' ' * n + 'x', lambda n: '\t' * n + ',x',
    lambda n: ',' * n + 'x', lambda n: '"1"' + ' ' * n + 'x',
    lambda n: 'W/"' + 'a' * n, lambda n: ' ,' * (n // 2) + '"',
    lambda n: '"1" ' * (n // 4) + 'x'])
def test_adversarial_values_cost_no_more_than_their_length(shape):
    """Up to 64 KB (eight times what a server passes in a header), each
    parse takes far less than the second that 8 KB of blanks once cost:
    a guard against a return of backtracking, not a benchmark."""
    for size in (8192, 65536):
        header = shape(size)
        started = time.process_time()
        assert parse(header) is None
        assert time.process_time() - started < 0.5, (size, header[:20])
