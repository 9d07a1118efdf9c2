"""The tempest plugin entry point."""

import os

from tempest import config as tempest_config
from tempest.test_discover import plugins

from cloudprefs_tempest_plugin import config


class CloudprefsTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        package_dir = os.path.dirname(os.path.abspath(__file__))
        top_level = os.path.dirname(package_dir)
        return os.path.join(package_dir, 'tests'), top_level

    def register_opts(self, conf):
        conf.register_opt(config.service_available_option,
                          group='service_available')
        conf.register_group(config.preferences_group)
        conf.register_opts(config.PreferencesGroup,
                           group=config.preferences_group.name)

    def get_opt_lists(self):
        return [(config.preferences_group.name, config.PreferencesGroup),
                ('service_available', [config.service_available_option])]

    def get_service_clients(self):
        params = {
            'name': 'preferences_v1',
            'service_version': 'preferences.v1',
            'module_path': 'cloudprefs_tempest_plugin.services',
            'client_names': ['PreferencesClient'],
        }
        params.update(tempest_config.service_client_config('preferences'))
        return [params]
