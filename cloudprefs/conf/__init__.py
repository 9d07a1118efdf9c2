"""Configuration options of Cloud Preferences.

Each module here owns one group and exposes ``register_opts(conf)`` and
``list_opts()``. Code receives a ``ConfigOpts`` object; nothing in the
package reads a global configuration.
"""

from cloudprefs.conf import api
from cloudprefs.conf import changes
from cloudprefs.conf import database
from cloudprefs.conf import default
from cloudprefs.conf import expiry
from cloudprefs.conf import keystone_authtoken
from cloudprefs.conf import notifications
from cloudprefs.conf import quota
from cloudprefs.conf import service_credentials

MODULES = (default, api, database, quota, changes, expiry, notifications,
           service_credentials, keystone_authtoken)


def register_opts(conf):
    for module in MODULES:
        module.register_opts(conf)
