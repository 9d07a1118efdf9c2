"""What the application takes from uwsgi's options."""

import io

import pytest

from cloudprefs.service import startup
from cloudprefs.wsgi import uwsgi_support


class FakeUwsgi:
    def __init__(self, **options):
        self.opt = {name: value.encode() for name, value in options.items()}

    @staticmethod
    def connection_fd():
        return -1


@pytest.fixture
def conf():
    return startup.prepare_conf([], default_config_files=[],
                                command_line=False)


def test_holds_follow_the_threads(conf, monkeypatch):
    monkeypatch.setattr(uwsgi_support, 'uwsgi',
                        FakeUwsgi(threads='32', harakiri='90'))
    uwsgi_support.apply_defaults(conf)
    assert conf.changes.max_waiting_per_worker == 24
    assert conf.changes.max_wait == 60


def test_one_thread_holds_nothing(conf, monkeypatch):
    monkeypatch.setattr(uwsgi_support, 'uwsgi', FakeUwsgi())
    uwsgi_support.apply_defaults(conf)
    assert conf.changes.max_waiting_per_worker == 0


def test_no_hold_meets_harakiri(conf, monkeypatch):
    monkeypatch.setattr(uwsgi_support, 'uwsgi',
                        FakeUwsgi(threads='8', harakiri='60'))
    uwsgi_support.apply_defaults(conf)
    assert conf.changes.max_wait == 60 - uwsgi_support.HARAKIRI_MARGIN


def _request_with_body(size, **headers):
    stream = io.BytesIO(b'x' * size)
    environ = {'CONTENT_LENGTH': str(size), 'wsgi.input': stream}
    environ.update(headers)
    return environ, stream


def test_what_the_application_left_unread_is_read():
    environ, stream = _request_with_body(300 * 1024)
    body = uwsgi_support.UnreadBody.wrap(environ)
    assert environ['wsgi.input'].read(10) == b'x' * 10
    body.discard()
    assert stream.tell() == 300 * 1024


def test_a_body_read_whole_is_left_alone():
    environ, stream = _request_with_body(100)
    body = uwsgi_support.UnreadBody.wrap(environ)
    assert b''.join(environ['wsgi.input']) == b'x' * 100
    stream.write(b'not the body')   # anything read now would be counted
    body.discard()
    assert stream.tell() == 100 + len(b'not the body')


def test_too_large_a_body_is_not_read():
    size = uwsgi_support.DISCARD_LIMIT + 1
    environ, stream = _request_with_body(size)
    uwsgi_support.UnreadBody.wrap(environ).discard()
    assert stream.tell() == 0


@pytest.mark.parametrize('headers', [
    {'HTTP_EXPECT': '100-continue'},     # the client sends it only if asked
    {'CONTENT_LENGTH': ''}, {'CONTENT_LENGTH': 'x'}])
def test_no_body_to_read(headers):
    environ, stream = _request_with_body(100, **headers)
    assert uwsgi_support.UnreadBody.wrap(environ) is None
    assert environ['wsgi.input'] is stream


def test_the_application_reads_through_the_count_before_its_answer(
        monkeypatch):
    monkeypatch.setattr(uwsgi_support, 'uwsgi', FakeUwsgi())
    monkeypatch.setattr(uwsgi_support.StopWatch, 'start_once',
                        lambda self: None)
    read = []

    def refusing_app(environ, start_response):
        read.append(environ['wsgi.input'].read(1))
        start_response('413 Request Entity Too Large', [])
        return [b'refused']

    environ, stream = _request_with_body(5000)
    answer = uwsgi_support.Application(refusing_app)(
        environ, lambda status, headers, exc_info=None: None)
    assert answer == [b'refused'] and read == [b'x']
    assert stream.tell() == 5000
