"""cloudprefs-api: the API under eventlet.wsgi.

eventlet must patch the standard library before anything else imports
socket, threading or the database clients, hence the first lines. This is
the only command that uses eventlet (see :mod:`cloudprefs.eventlet_server`).
"""

from cloudprefs.eventlet_server import patching

patching.patch()

import logging  # noqa: E402
import sys  # noqa: E402

from cloudprefs.api import deploy  # noqa: E402
from cloudprefs.eventlet_server import server  # noqa: E402
from cloudprefs.policies import enforcer  # noqa: E402
from cloudprefs.service import startup  # noqa: E402
from cloudprefs import storage  # noqa: E402

LOG = logging.getLogger(__name__)

STARTUP_ERRORS = (startup.ConfigurationError, enforcer.PolicyFileError,
                  storage.exceptions.SchemaNotReady, storage.UnknownDriver)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = startup.prepare_conf(argv)
        server.apply_defaults(conf)
        startup.check_auth_strategy(conf)
        # Load once here so that a bad pipeline or an unmigrated database
        # stops the start with a clear message; workers load their own.
        app = deploy.load_app(conf)
    except STARTUP_ERRORS as error:
        sys.exit('cloudprefs-api: %s' % error)

    def load_app():
        return app if conf.api_workers == 1 else deploy.load_app(conf)

    def reload_conf():
        conf.reload_config_files()
        startup.apply_command_line(conf)
        server.apply_defaults(conf)
        startup.check_auth_strategy(conf)

    try:
        return server.run(conf, load_app, reload_conf)
    except KeyboardInterrupt:
        return 0


if __name__ == '__main__':
    sys.exit(main())
