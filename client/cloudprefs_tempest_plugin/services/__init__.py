from cloudprefs_tempest_plugin.services.preferences_client import \
    PreferencesClient

__all__ = ['PreferencesClient']
