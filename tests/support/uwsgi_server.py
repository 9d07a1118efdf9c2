"""Running the WSGI application under uwsgi for functional tests.

uwsgi runs from ``.wsgi-venv`` (tools/run-tests.sh makes it): the
service's runtime dependencies and uWSGI, without eventlet, as operators
run it. It reads the shipped ``etc/cloudprefs/uwsgi.ini``, with only its
address, its configuration file and what a test asks for (fewer
processes, say) changed, so that the tests run what operators deploy.
"""

import os
import re

from tests.support import api_server

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
    # The workers' socket, beside the configuration file.
    ini, count = re.subn(
        r'(?m)^socket = .*$', 'socket = %s' % os.path.join(
            os.path.dirname(config_path), 'uwsgi-%d.sock' % port), ini)
    assert count == 1, 'the shipped uwsgi.ini has no one workers\' socket'
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


class UwsgiServer(api_server.ApiServer):
    """uwsgi serving ``cloudprefs.wsgi.api:application`` with the shipped
    ini; ``overrides`` change its options (see :func:`shipped_ini`)."""

    NAME = 'uwsgi'
    # SIGTERM: the shipped ini makes it a graceful shutdown.
    STOP_TIMEOUT = 30

    def __init__(self, workdir, connection, auth_strategy='noauth',
                 sections=None, name='uwsgi', overrides=None):
        super().__init__(workdir, connection, auth_strategy=auth_strategy,
                         sections=sections, name=name)
        self.ini_path = os.path.join(workdir, name + '.ini')
        with open(self.ini_path, 'w') as ini:
            ini.write(shipped_ini(self.port, self.config_path, overrides))

    def command(self):
        venv = wsgi_venv()
        return [os.path.join(venv, 'bin', 'uwsgi'), '--ini', self.ini_path,
                '--home', venv]
