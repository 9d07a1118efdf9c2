"""The WSGI application for uwsgi, mod_wsgi or any WSGI server.

    uwsgi --ini /etc/cloudprefs/uwsgi.ini
    (module = cloudprefs.wsgi.api:application)

The configuration files come from ``CLOUDPREFS_CONFIG_FILE`` (several may
be given, separated by commas) or oslo.config's default locations
(``/etc/cloudprefs/cloudprefs.conf``...). The server's own command line is
not parsed. Nothing here needs eventlet: requests run on the server's
native threads.
"""

import os

from cloudprefs.api import collection
from cloudprefs.api import deploy
from cloudprefs.service import startup
from cloudprefs.wsgi import uwsgi_support

CONFIG_FILE_ENV = 'CLOUDPREFS_CONFIG_FILE'


def init_application():
    files = os.environ.get(CONFIG_FILE_ENV)
    default_files = [f for f in files.split(',') if f] if files else None
    conf = startup.prepare_conf([], default_config_files=default_files,
                                command_line=False)
    if uwsgi_support.running():
        uwsgi_support.apply_defaults(conf)
    startup.check_auth_strategy(conf)
    app = deploy.load_app(conf)
    collection.settle_after_start_up()
    if uwsgi_support.running():
        return uwsgi_support.Application(app)
    return app


application = init_application()
