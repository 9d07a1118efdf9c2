"""Loading the paste.deploy pipeline with a loaded ConfigOpts.

paste.deploy passes only strings to factories, so the ConfigOpts travels
as a key into a small registry, as aodh does.
"""

import os
import uuid

from paste import deploy as paste_deploy

PACKAGED_PASTE_FILE = os.path.join(os.path.dirname(__file__),
                                   'api-paste.ini')
CONFIG_KEY = 'cloudprefs_configkey'

_loaded_configs = {}


def conf_from(global_conf):
    """The ConfigOpts a paste factory was loaded with."""
    return _loaded_configs[global_conf[CONFIG_KEY]]


def find_paste_file(conf):
    """Resolve ``api_paste_config``: as given, beside the config files, or
    the copy shipped inside the package."""
    name = conf.api_paste_config
    if os.path.isabs(name):
        if os.path.exists(name):
            return name
        raise FileNotFoundError('api_paste_config %s does not exist' % name)
    found = conf.find_file(name)
    if found:
        return os.path.abspath(found)
    return PACKAGED_PASTE_FILE


def load_app(conf):
    """Build the WSGI application for ``conf``'s auth strategy."""
    key = uuid.uuid4().hex
    _loaded_configs[key] = conf
    return paste_deploy.loadapp('config:' + find_paste_file(conf),
                                name='cloudprefs+' + conf.auth_strategy,
                                global_conf={CONFIG_KEY: key})
