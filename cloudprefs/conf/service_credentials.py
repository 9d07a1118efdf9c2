"""[service_credentials]: the account that asks Keystone about users.

Used by ``cloudprefs-manage purge_deleted_users``. Unset (no
``auth_type``), the ``[keystone_authtoken]`` account is used.
"""

from keystoneauth1 import loading as ks_loading

GROUP = 'service_credentials'


def register_opts(conf):
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)


def list_opts():
    return [(GROUP, ks_loading.get_auth_common_conf_options()
             + ks_loading.get_session_conf_options())]
