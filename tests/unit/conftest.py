"""Fixtures of the unit tests that load the /v1 pipeline in-process."""

import pytest

from cloudprefs.api import deploy
from cloudprefs.service import startup
from cloudprefs import storage


@pytest.fixture
def conf(tmp_path):
    """The service's options with noauth and an embedded SQLite file
    under ``tmp_path``; its drivers closed afterwards."""
    conf = startup.prepare_conf([], default_config_files=[],
                                command_line=False)
    conf.set_override('auth_strategy', 'noauth')
    conf.set_override('state_path', str(tmp_path))
    yield conf
    storage.close_drivers()


@pytest.fixture
def app(conf):
    """The paste pipeline of ``conf``."""
    return deploy.load_app(conf)
