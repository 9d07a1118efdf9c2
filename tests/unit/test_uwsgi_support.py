"""What the application takes from uwsgi's options."""

import pytest

from cloudprefs import service
from cloudprefs.wsgi import uwsgi_support


class FakeUwsgi:
    def __init__(self, **options):
        self.opt = {name: value.encode() for name, value in options.items()}


@pytest.fixture
def conf():
    return service.prepare_conf([], default_config_files=[],
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
