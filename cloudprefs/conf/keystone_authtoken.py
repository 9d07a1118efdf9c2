"""[keystone_authtoken] options: keystonemiddleware auth_token's own.

auth_token registers these options itself when the keystone pipeline
starts; they are registered here too so that ``cloudprefs-api`` can check
them before serving, and listed here (not under keystonemiddleware's own
generator namespace) so that the sample configuration shows the defaults
cloudprefs changes.
"""

from keystonemiddleware import auth_token
from oslo_config import cfg

GROUP = 'keystone_authtoken'

# Nothing in cloudprefs reads X-Service-Catalog: without it auth_token
# validates tokens without their catalog (smaller token data in memcached
# and in each process's memory). A pipeline with middleware that needs the
# catalog sets it to true.
DEFAULTS = {'include_service_catalog': False}


def register_opts(conf):
    # auth_token's list holds keystoneauth's auth_type and auth_section
    # too; a plugin's own options are registered when it is loaded.
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
    # Per-ConfigOpts defaults, on auth_token's unchanged options: auth_token
    # registers its options again on the same ConfigOpts, and an option
    # whose default differs would be refused as a duplicate.
    for name, value in DEFAULTS.items():
        conf.set_default(name, value, group=GROUP)


def list_opts():
    listed = auth_token.list_opts()     # copies, ours to change
    for _group, opts in listed:
        cfg.set_defaults(opts, **DEFAULTS)
    return listed
