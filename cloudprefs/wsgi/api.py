"""The WSGI application for uwsgi, mod_wsgi or any WSGI server.

    uwsgi --http11-socket :8888 --module cloudprefs.wsgi.api:application

The configuration files come from ``CLOUDPREFS_CONFIG_FILE`` (several may
be given, separated by commas) or oslo.config's default locations
(``/etc/cloudprefs/cloudprefs.conf``...). The server's own command line is
not parsed.
"""

import os

from cloudprefs.api import deploy
from cloudprefs import service

CONFIG_FILE_ENV = 'CLOUDPREFS_CONFIG_FILE'


def init_application():
    files = os.environ.get(CONFIG_FILE_ENV)
    default_files = [f for f in files.split(',') if f] if files else None
    conf = service.prepare_conf([], default_config_files=default_files,
                                command_line=False)
    service.check_auth_strategy(conf)
    return deploy.load_app(conf)


application = init_application()
