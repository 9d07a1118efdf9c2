"""Tempest options of the Cloud Preferences plugin."""

from oslo_config import cfg

service_available_option = cfg.BoolOpt(
    'cloudprefs', default=True,
    help='Whether the Cloud Preferences service is deployed.')

preferences_group = cfg.OptGroup(name='preferences',
                                 title='Cloud Preferences options')

PreferencesGroup = [
    cfg.StrOpt('catalog_type', default='preferences',
               help='Catalog type of the Cloud Preferences service.'),
    cfg.StrOpt('endpoint_type', default='public',
               choices=['public', 'admin', 'internal', 'publicURL',
                        'adminURL', 'internalURL'],
               help='The endpoint type to use.'),
    cfg.StrOpt('region', default='',
               help='The region, when not the identity region.'),
    cfg.IntOpt('max_container_size', default=1048576,
               help='The service\'s [api] max_container_size.'),
    cfg.IntOpt('containers_per_user', default=1000,
               help='The service\'s [quota] containers_per_user (0: no '
                    'quota). The quota test fills it when it is at most '
                    'max_quota_to_fill.'),
    cfg.IntOpt('max_quota_to_fill', default=50,
               help='Largest container quota the quota test fills up.'),
]
