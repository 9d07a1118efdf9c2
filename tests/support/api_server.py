"""Running cloudprefs-api as a real process for functional tests."""

import os
import subprocess
import sys
import time

import requests

from tests.support import config
from tests.support import network


class ApiServer:
    """``python -m cloudprefs`` with a configuration file of its own."""

    NAME = 'cloudprefs-api'
    # Seconds a stop (SIGTERM) may take before the process group is killed.
    STOP_TIMEOUT = 15

    def __init__(self, workdir, connection, auth_strategy='noauth',
                 sections=None, name='api', cwd=None):
        self.workdir = workdir
        self.port = network.free_port()
        self.config_path = os.path.join(workdir, name + '.conf')
        self.log_path = os.path.join(workdir, name + '.log')
        options = {
            'DEFAULT': {'auth_strategy': auth_strategy,
                        'api_workers': '1',
                        'bind_host': '127.0.0.1',
                        'state_path': os.path.join(workdir, 'state'),
                        'debug': 'true'},
            'database': {'connection': connection, 'timeout': '2'},
        }
        for section, values in (sections or {}).items():
            options.setdefault(section, {}).update(values)
        if not connection:
            del options['database']['connection']
        config.write_config_file(self.config_path, options)
        self.process = None
        self.cwd = cwd
        self.base_url = 'http://127.0.0.1:%d' % self.port

    def command(self):
        return [sys.executable, '-m', 'cloudprefs', '--config-file',
                self.config_path, '--port', str(self.port)]

    def start(self):
        log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(self.command(), stdout=log,
                                        stderr=subprocess.STDOUT,
                                        cwd=self.cwd,
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
                    pass    # listening before its application is loaded
                time.sleep(0.1)
            raise TimeoutError('%s did not answer on /:\n%s'
                               % (self.NAME, self.log()[-3000:]))
        except BaseException:
            self.stop()     # no server left running by a failed start
            raise

    def stop(self):
        network.stop_process(self.process, timeout=self.STOP_TIMEOUT,
                             group=True)

    def log(self):
        with open(self.log_path, errors='replace') as log_file:
            return log_file.read()

    def url(self, path):
        return self.base_url + path


# The servers a functional test module may run the service under (its
# SERVERS; see tests/functional/conftest.py).
CLOUDPREFS_API = 'cloudprefs-api'
UWSGI = 'uwsgi'


def server_of_kind(kind, workdir, connection, **kwargs):
    """An :class:`ApiServer`, or for ``kind`` 'uwsgi' the WSGI application
    under uwsgi with the shipped uwsgi.ini (two processes, to spare the
    test machine; other options as shipped)."""
    if kind == UWSGI:
        from tests.support import uwsgi_server
        kwargs.setdefault('overrides', {'processes': '2'})
        return uwsgi_server.UwsgiServer(workdir, connection, **kwargs)
    return ApiServer(workdir, connection, **kwargs)
