"""Running the WSGI application under uwsgi for functional tests.

uwsgi runs from ``.wsgi-venv`` (tools/run-tests.sh makes it): the
service's runtime dependencies and uWSGI, without eventlet, as operators
run it. It reads the shipped ``etc/cloudprefs/uwsgi.ini``, with only its
address, its configuration file and what a test asks for (fewer
processes, say) changed, so that the tests run what operators deploy.
"""

import os
import re
import subprocess
import time

import requests

from tests.support import config
from tests.support import network

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHIPPED_INI = os.path.join(REPOSITORY, 'etc', 'cloudprefs', 'uwsgi.ini')
VENV_ENV = 'CLOUDPREFS_TEST_WSGI_VENV'


def wsgi_venv():
    """The virtualenv uwsgi runs from; its absence fails the test."""
    venv = (os.environ.get(VENV_ENV)
            or os.path.join(REPOSITORY, '.wsgi-venv'))
    if not os.path.exists(os.path.join(venv, 'bin', 'uwsgi')):
        raise RuntimeError('no uwsgi in %s: tools/run-tests.sh makes that '
                           'virtualenv (or set %s)' % (venv, VENV_ENV))
    return venv


def shipped_ini(port, config_path, overrides=None):
    """The shipped uwsgi.ini serving on ``port`` with ``config_path``;
    ``overrides`` ({option: value}) replace options of the shipped file
    or add them (a value of None removes the option)."""
    with open(SHIPPED_INI) as sample:
        ini = sample.read()
    ini, count = re.subn(r'(?m)^(http|http11-socket) = .*$',
                         r'\1 = 127.0.0.1:%d' % port, ini)
    assert count == 1, 'the shipped uwsgi.ini has no one HTTP address'
    ini = re.sub(r'(?m)^env = CLOUDPREFS_CONFIG_FILE=.*$',
                 'env = CLOUDPREFS_CONFIG_FILE=%s' % config_path, ini)
    for name, value in (overrides or {}).items():
        line = '' if value is None else '%s = %s\n' % (name, value)
        pattern = r'(?m)^%s = .*\n' % re.escape(name)
        if re.search(pattern, ini):
            ini = re.sub(pattern, lambda match: line, ini)
        else:
            ini += line
    # An override may name the port: {'http11-socket': '127.0.0.1:{port}'}.
    return ini.replace('{port}', str(port))


def option(name):
    """An option's value in the shipped uwsgi.ini (None when absent)."""
    with open(SHIPPED_INI) as sample:
        match = re.search(r'(?m)^%s = (.*)$' % re.escape(name), sample.read())
    return match.group(1).strip() if match else None


class UwsgiServer:
    """uwsgi serving ``cloudprefs.wsgi.api:application``; the interface of
    :class:`tests.support.api_server.ApiServer`."""

    def __init__(self, workdir, connection, auth_strategy='noauth',
                 sections=None, name='uwsgi', overrides=None):
        self.workdir = workdir
        self.port = network.free_port()
        self.config_path = os.path.join(workdir, name + '.conf')
        self.ini_path = os.path.join(workdir, name + '.ini')
        self.log_path = os.path.join(workdir, name + '.log')
        options = {
            'DEFAULT': {'auth_strategy': auth_strategy,
                        'state_path': os.path.join(workdir, 'state'),
                        'debug': 'true'},
            'database': {'connection': connection, 'timeout': '2'},
        }
        for section, values in (sections or {}).items():
            options.setdefault(section, {}).update(values)
        if not connection:
            del options['database']['connection']
        config.write_config_file(self.config_path, options)
        with open(self.ini_path, 'w') as ini:
            ini.write(shipped_ini(self.port, self.config_path, overrides))
        self.process = None
        self.base_url = 'http://127.0.0.1:%d' % self.port

    def command(self):
        venv = wsgi_venv()
        return [os.path.join(venv, 'bin', 'uwsgi'), '--ini', self.ini_path,
                '--home', venv]

    def start(self):
        log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(self.command(), stdout=log,
                                        stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        try:
            network.wait_for_port(self.port, timeout=30,
                                  process=self.process)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if requests.get(self.base_url + '/', timeout=5).ok:
                        return self
                except requests.ConnectionError:
                    pass
                time.sleep(0.1)
            raise TimeoutError('uwsgi did not answer on /:\n' +
                               self.log()[-3000:])
        except BaseException:
            self.stop()
            raise

    def stop(self):
        # SIGTERM: the shipped ini makes it a graceful shutdown.
        network.stop_process(self.process, timeout=30, group=True)

    def log(self):
        with open(self.log_path, errors='replace') as log_file:
            return log_file.read()

    def url(self, path):
        return self.base_url + path
