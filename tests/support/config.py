"""Building configuration for drivers and services under test."""

import json
import os

from oslo_config import cfg

from cloudprefs import conf as cloudprefs_conf


def make_conf(connection, quota=None, database=None, **api_overrides):
    """A ConfigOpts with the service's options and ``connection`` set;
    ``quota`` and ``database`` map [quota] and [database] options to
    values."""
    conf = cfg.ConfigOpts()
    cloudprefs_conf.register_opts(conf)
    conf([], project='cloudprefs', default_config_files=[])
    conf.set_override('connection', connection, group='database')
    conf.set_override('timeout', 2.0, group='database')
    conf.set_override('operation_timeout', 10.0, group='database')
    for name, value in api_overrides.items():
        conf.set_override(name, value, group='api')
    for name, value in (quota or {}).items():
        conf.set_override(name, value, group='quota')
    for name, value in (database or {}).items():
        conf.set_override(name, value, group='database')
    return conf


class DriverFactory:
    """Makes drivers on one store (``make(url, conf)``); closes them all.

    ``database`` holds [database] options, and ``quota`` the [quota]
    options a call does not give, for every driver made after they are
    changed (the contract suite sets the layers it tests this way).
    """

    def __init__(self, driver_class, url, **api_overrides):
        self.driver_class = driver_class
        self.url = url
        self.api_overrides = api_overrides
        self.database = {}
        self.quota = {}
        self.drivers = []

    def __call__(self, **quota):
        driver = self.driver_class(self.url, make_conf(
            self.url, quota=dict(self.quota, **quota),
            database=self.database, **self.api_overrides))
        self.drivers.append(driver)
        return driver

    def close(self):
        for driver in self.drivers:
            driver.close()


def canonical(value):
    """JSON text that tells 1 from 1.0 and true from 1; keys sorted."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def write_config_file(path, sections):
    """Write an ini file from ``{section: {option: value}}``."""
    with open(path, 'w') as config_file:
        for section, options in sections.items():
            config_file.write('[%s]\n' % section)
            for name, value in options.items():
                config_file.write('%s = %s\n' % (name, value))
            config_file.write('\n')
    return path


def tool_venv(env_var, default_name, command, what):
    """The virtualenv beside the repository (made by tools/run-tests.sh)
    that holds a test tool, or the one ``env_var`` names; a missing one
    fails the tests."""
    repository = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    venv = os.environ.get(env_var, os.path.join(repository, default_name))
    if not os.path.exists(os.path.join(venv, 'bin', command)):
        raise RuntimeError('%s is not installed in %s: run '
                           'tools/run-tests.sh, or set %s'
                           % (what, venv, env_var))
    return venv
