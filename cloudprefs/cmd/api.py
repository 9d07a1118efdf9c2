"""cloudprefs-api: the API under eventlet.wsgi.

eventlet must patch the standard library before anything else imports
socket, threading or the database clients, hence the first lines.
"""

import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

import eventlet  # noqa: E402

# Besides the standard library, this installs eventlet's wait callback in
# psycopg2 (the same one psycogreen would): without it each PostgreSQL
# query, a C call, would block every green thread of the process. PyMySQL
# is pure Python and goes through the patched socket module.
eventlet.monkey_patch()

import logging  # noqa: E402
import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402

from cloudprefs.api import deploy  # noqa: E402
from cloudprefs import service  # noqa: E402
from cloudprefs import storage  # noqa: E402

LOG = logging.getLogger(__name__)


class _WSGILog:
    """eventlet.wsgi's access log, written to our logger at INFO."""

    def write(self, message):
        LOG.info(message.rstrip())


def serve(conf, app):
    sock = eventlet.listen((conf.bind_host, conf.bind_port), reuse_port=False)
    host, port = sock.getsockname()[:2]
    LOG.info('cloudprefs-api listening on %s:%d (auth_strategy=%s)',
             host, port, conf.auth_strategy)
    pool = eventlet.GreenPool(conf.green_pool_size)
    eventlet.wsgi.server(sock, app, custom_pool=pool, log=_WSGILog(),
                         log_output=conf.debug,
                         socket_timeout=conf.client_socket_timeout or None,
                         keepalive=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = service.prepare_conf(argv)
        service.check_auth_strategy(conf)
        app = deploy.load_app(conf)
    except (service.ConfigurationError, storage.exceptions.SchemaNotReady,
            storage.UnknownDriver) as error:
        sys.exit('cloudprefs-api: %s' % error)
    try:
        serve(conf, app)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
