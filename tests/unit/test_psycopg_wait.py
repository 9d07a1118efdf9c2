"""The psycopg2 wait callback of cloudprefs-api (no database needed)."""

import psycopg2
from psycopg2 import extensions
import pytest

from cloudprefs.eventlet_server import psycopg_wait


class FakeConnection:
    def __init__(self, states):
        self.states = list(states)

    def poll(self):
        return self.states.pop(0)

    def fileno(self):
        return 99


@pytest.fixture
def waits(monkeypatch):
    calls = []
    monkeypatch.setattr(psycopg_wait.eventlet, 'sleep',
                        lambda seconds: calls.append(('yield', seconds)))
    monkeypatch.setattr(psycopg_wait.eventlet.hubs, 'trampoline',
                        lambda fd, read=False, write=False: calls.append(
                            ('read' if read else 'write', fd)))
    return calls


def test_answer_ready_after_yielding_needs_no_hub_wait(waits):
    psycopg_wait.wait_yielding_first(FakeConnection(
        [extensions.POLL_READ, extensions.POLL_OK]))
    assert waits == [('yield', 0)]


def test_answer_not_ready_waits_on_the_hub(waits):
    psycopg_wait.wait_yielding_first(FakeConnection(
        [extensions.POLL_WRITE, extensions.POLL_READ, extensions.POLL_READ,
         extensions.POLL_READ, extensions.POLL_OK]))
    assert waits == [('write', 99), ('yield', 0), ('read', 99), ('read', 99)]


def test_bad_poll_state_is_an_operational_error(waits):
    with pytest.raises(psycopg2.OperationalError):
        psycopg_wait.wait_yielding_first(FakeConnection([42]))


def test_install_sets_the_callback():
    previous = extensions.get_wait_callback()
    try:
        psycopg_wait.install()
        assert extensions.get_wait_callback() is (
            psycopg_wait.wait_yielding_first)
    finally:
        extensions.set_wait_callback(previous)
