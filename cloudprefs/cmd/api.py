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

from cloudprefs.api import deploy  # noqa: E402
from cloudprefs import policy  # noqa: E402
from cloudprefs import server  # noqa: E402
from cloudprefs import service  # noqa: E402
from cloudprefs import storage  # noqa: E402
from cloudprefs.storage import psycopg_wait  # noqa: E402

# A wait callback that saves the hub registration when it can (see there).
psycopg_wait.install()

LOG = logging.getLogger(__name__)

STARTUP_ERRORS = (service.ConfigurationError, policy.PolicyFileError,
                  storage.exceptions.SchemaNotReady, storage.UnknownDriver)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = service.prepare_conf(argv)
        service.check_auth_strategy(conf)
        # Load once here so that a bad pipeline or an unmigrated database
        # stops the start with a clear message; workers load their own.
        app = deploy.load_app(conf)
    except STARTUP_ERRORS as error:
        sys.exit('cloudprefs-api: %s' % error)

    def load_app():
        return app if conf.api_workers == 1 else deploy.load_app(conf)

    def reload_conf():
        conf.reload_config_files()
        service.apply_command_line(conf)
        service.check_auth_strategy(conf)

    try:
        return server.run(conf, load_app, reload_conf)
    except KeyboardInterrupt:
        return 0


if __name__ == '__main__':
    sys.exit(main())
