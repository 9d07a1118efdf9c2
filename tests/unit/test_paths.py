"""Splitting raw request paths into container names and key paths."""

import pytest

from cloudprefs.api import errors
from cloudprefs.api import paths


@pytest.mark.parametrize('raw, expected', [
    ('', '/'), ('/', '/'), ('/c', '/c'), ('/c/', '/c'), ('/c/a/b/', '/c/a/b'),
])
def test_normalize(raw, expected):
    assert paths.normalize(raw) == expected


@pytest.mark.parametrize('raw', ['//', '/c//', '/c//k', '//c', 'c',
                                 '/c/k//'])
def test_normalize_refuses_empty_segments(raw):
    with pytest.raises(errors.APIError) as caught:
        paths.normalize(raw)
    assert caught.value.status == 400
    assert caught.value.code == errors.INVALID_PATH


@pytest.mark.parametrize('raw, segment', [
    ('a%2Fb', 'a/b'), ('%E2%82%AC', '€'), ('a+b', 'a+b'), ('%2E%2E%2E', '...'),
    ('%24cmd', '$cmd'), ('a%20', 'a '), ('x' * 255, 'x' * 255),
])
def test_decode_segment(raw, segment):
    assert paths.decode_segment(raw) == segment


@pytest.mark.parametrize('raw', ['.', '..', '%2e', '%2E%2e', '%00', 'a%00',
                                 '%FF', '%C3', 'x' * 256, '%C3%A9' * 128])
def test_decode_segment_refuses(raw):
    with pytest.raises(errors.APIError) as caught:
        paths.decode_segment(raw)
    assert caught.value.code == errors.INVALID_PATH


def test_decode_key_path():
    assert paths.decode_key_path('a/b%2Fc/%C3%A9') == ['a', 'b/c', 'é']


@pytest.mark.parametrize('raw, prefix, rest', [
    ('/v1/c/k', '/v1', '/c/k'), ('/v1', '/v1', ''), ('/v1/', '/v1', '/'),
    ('/%761/c', '/v1', '/c'), ('/app/v1/c', '/app/v1', '/c'),
    ('/v2/c', '/v1', None), ('/c', '', '/c'), ('/', '', '/'),
])
def test_strip_prefix(raw, prefix, rest):
    assert paths.strip_prefix(raw, prefix) == rest


@pytest.mark.parametrize('environ, raw', [
    ({'RAW_PATH_INFO': '/v1/a%2Fb', 'SCRIPT_NAME': '/v1',
      'PATH_INFO': '/a/b'}, '/a%2Fb'),
    ({'REQUEST_URI': '/v1/a%2Fb?x=1', 'SCRIPT_NAME': '/v1',
      'PATH_INFO': '/a/b'}, '/a%2Fb'),
    ({'REQUEST_URI': 'http://h:1/v1/a%2Fb', 'SCRIPT_NAME': '/v1',
      'PATH_INFO': '/a/b'}, '/a%2Fb'),
    # No raw path from the server: the decoded path is all there is.
    ({'SCRIPT_NAME': '/v1', 'PATH_INFO': '/a/b é'}, '/a/b%20%C3%A9'),
    # Set by the URL map: wins over everything else.
    ({paths.RAW_PATH_KEY: '/x%2Fy', 'RAW_PATH_INFO': '/v1/other',
      'SCRIPT_NAME': '/v1', 'PATH_INFO': '/x/y'}, '/x%2Fy'),
])
def test_raw_path_info(environ, raw):
    assert paths.raw_path_info(environ) == raw
