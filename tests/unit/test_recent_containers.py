"""The write-guess cache: a bounded memory of recently seen containers,
and the layer that switches it off."""

from cloudprefs.storage import recent
from cloudprefs.storage import records


def stored(revision, text, size):
    return records.Stored(revision, 1, size, text)


def test_remembers_and_forgets():
    seen = recent.RecentContainers()
    seen.remember('u', 'c', stored(7, '{"a":1}', 7))
    assert seen.get('u', 'c') == stored(7, '{"a":1}', 7)
    assert seen.get('u', 'other') is None
    assert seen.get('other', 'c') is None
    seen.forget('u', 'c')
    assert seen.get('u', 'c') is None
    assert seen.bytes == 0


def test_a_newer_sight_replaces_the_older():
    seen = recent.RecentContainers()
    seen.remember('u', 'c', stored(1, '{}', 2))
    seen.remember('u', 'c', stored(2, '{"a":1}', 7))
    assert seen.get('u', 'c').revision == 2
    assert len(seen) == 1 and seen.bytes == 7


def test_least_recently_used_goes_first_past_the_entry_limit():
    seen = recent.RecentContainers(max_entries=2)
    seen.remember('u', 'a', stored(1, '{}', 2))
    seen.remember('u', 'b', stored(1, '{}', 2))
    seen.get('u', 'a')                      # now b is the oldest
    seen.remember('u', 'c', stored(1, '{}', 2))
    assert seen.get('u', 'b') is None
    assert seen.get('u', 'a') is not None and seen.get('u', 'c') is not None
    assert len(seen) == 2 and seen.bytes == 4


def test_byte_budget_is_kept():
    seen = recent.RecentContainers(max_bytes=1000)
    for number in range(20):
        seen.remember('u', 'c%d' % number, stored(1, 'x' * 90, 90))
    assert seen.bytes <= 1000
    assert len(seen) == 11
    assert seen.get('u', 'c19') is not None
    assert seen.get('u', 'c0') is None


def test_large_values_are_not_kept():
    seen = recent.RecentContainers(max_bytes=1000)
    seen.remember('u', 'small', stored(1, 'x' * 100, 100))
    seen.remember('u', 'big', stored(1, 'x' * 101, 101))
    assert seen.get('u', 'big') is None
    assert seen.get('u', 'small') is not None


def test_forget_user_drops_only_that_user():
    seen = recent.RecentContainers()
    seen.remember('u', 'a', stored(1, '{}', 2))
    seen.remember('u', 'b', stored(1, '{}', 2))
    seen.remember('v', 'a', stored(1, '{}', 2))
    seen.forget_user('u')
    assert seen.get('u', 'a') is None and seen.get('u', 'b') is None
    assert seen.get('v', 'a') is not None
    assert seen.bytes == 2


def test_switched_off_it_remembers_nothing():
    seen = recent.make(0)
    seen.remember('u', 'c', stored(1, '{}', 2))
    assert seen.get('u', 'c') is None
    assert len(seen) == 0
    assert isinstance(recent.make(5), recent.RecentContainers)
    assert recent.make(5).max_entries == 5
