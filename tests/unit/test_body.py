"""JSON request bodies: what is accepted and what is refused."""

import io

import pytest
import webob

from cloudprefs.api import body
from cloudprefs.api import errors


@pytest.mark.parametrize('raw, value', [
    (b'{}', {}), (b' [1, 2.5, "x", null, true] ', [1, 2.5, 'x', None, True]),
    (b'9223372036854775807', 2 ** 63 - 1),
    (b'-9223372036854775808', -2 ** 63),
    (b'1.7976931348623157e308', 1.7976931348623157e308),
    (b'"\\ud83e\\udd84"', '🦄'), ('"é"'.encode(), 'é'),
    (b'{"a": {"a": 1}}', {'a': {'a': 1}}), (b'"\\\\ud800"', '\\ud800'),
])
def test_accepted(raw, value):
    assert body.parse(raw) == value


@pytest.mark.parametrize('raw', [
    b'', b'{', b'{"a":1,}', b'NaN', b'[Infinity]', b'-Infinity', b'1e999',
    b'"\\ud800"', b'["\\udfff"]', b'{"\\ud800x": 1}', b'{"a":1,"a":1}',
    b'9223372036854775808', b'-9223372036854775809', b'\xff',
    b'"\xed\xa0\x80"',
    b'\xef\xbb\xbf1', b'[' * 50000 + b']' * 50000, b'1' * 5000,
    b'{"a": undefined}',
])
def test_refused(raw):
    with pytest.raises(errors.APIError) as caught:
        body.parse(raw)
    assert caught.value.status == 400
    assert caught.value.code == errors.INVALID_JSON


@pytest.mark.parametrize('value, depth', [
    (1, 0), ('s', 0), ({}, 1), ([], 1), ({'a': 1}, 1), ({'a': {}}, 2),
    ([[], [[]]], 3), ({'a': [{'b': [1]}]}, 4),
])
def test_depth(value, depth):
    assert body.depth(value) == depth


def test_check_depth_counts_path_and_value():
    body.check_depth(30, {'a': [1]}, 32)
    with pytest.raises(errors.APIError) as caught:
        body.check_depth(31, {'a': [1]}, 32)
    assert caught.value.code == errors.TOO_DEEP


def _request(data, content_length=True, chunked=False, decoded=True):
    """A request; a chunked one from a server that decodes chunked bodies
    (``decoded``: it says so with wsgi.input_terminated) or not."""
    environ = {'REQUEST_METHOD': 'POST', 'wsgi.input': io.BytesIO(data)}
    if content_length:
        environ['CONTENT_LENGTH'] = str(len(data))
    if chunked:
        environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
        environ['wsgi.input_terminated'] = decoded
    return webob.Request(environ)


def test_read_body_limits():
    assert body.read_body(_request(b'x' * 10), 10) == b'x' * 10
    assert body.read_body(_request(b'x' * 10, False, True), 10) == b'x' * 10
    assert body.read_body(_request(b'x' * 10, False), 10) == b''
    for request in (_request(b'x' * 11), _request(b'x' * 11, False, True)):
        with pytest.raises(errors.APIError) as caught:
            body.read_body(request, 10)
        assert caught.value.status == 413
    with pytest.raises(errors.APIError) as caught:
        body.read_body(_request(b'x' * 10, False, True, decoded=False), 10)
    assert (caught.value.status, caught.value.code) == (
        411, errors.LENGTH_REQUIRED)
