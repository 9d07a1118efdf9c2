"""The per-process memory of recently used Keystone token data."""

from cloudprefs.api.middleware import keystone


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_token_data_is_kept_for_a_second_only():
    clock = FakeClock()
    tokens = keystone.RecentTokens(clock=clock)
    tokens.put('t1', {'token': 1})
    assert tokens.get('t1') == {'token': 1}
    assert tokens.get('t2') is None
    clock.now += keystone.RECENT_TOKEN_SECONDS
    assert tokens.get('t1') is None


def test_expired_tokens_leave_memory():
    clock = FakeClock()
    tokens = keystone.RecentTokens(clock=clock)
    for number in range(50):
        tokens.put('old%d' % number, {})
    clock.now += keystone.RECENT_TOKEN_SECONDS + 0.1
    tokens.put('new', {})
    assert len(tokens) == 1 and tokens.get('new') == {}


def test_never_more_than_the_bound():
    clock = FakeClock()
    tokens = keystone.RecentTokens(clock=clock, max_tokens=10)
    for number in range(25):
        tokens.put('t%d' % number, {})
        assert len(tokens) <= 10
    assert tokens.get('t24') == {}
