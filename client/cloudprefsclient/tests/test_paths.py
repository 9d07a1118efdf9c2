import pytest

from cloudprefsclient import paths


@pytest.mark.parametrize('text, keys', [
    ('a', ['a']), ('a/b/c', ['a', 'b', 'c']), ('a/', ['a']),
    ('a%2Fb/c', ['a/b', 'c']), ('100%25', ['100%']), ('é/🦄', ['é', '🦄']),
])
def test_text_paths_split_on_slash_and_percent_decode(text, keys):
    assert paths.split(text) == keys


@pytest.mark.parametrize('bad', ['', '/', 'a//b', '/a', ['a', ''], [1],
                                 '.', 'a/..', ['..']])
def test_empty_keys_are_refused(bad):
    with pytest.raises(ValueError):
        paths.split(bad)


def test_urls_quote_every_key():
    assert paths.url() == ''
    assert paths.url('c') == '/c'
    assert paths.url('a b/c', ['x/y', '%', '?#']) == (
        '/a%20b%2Fc/x%2Fy/%25/%3F%23')
    assert paths.url('c', 'a%2Fb/c') == '/c/a%2Fb/c'
    for bad in ('', '.', '..'):
        with pytest.raises(ValueError):
            paths.url(bad)
