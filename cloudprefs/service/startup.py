"""Turning configuration files and the command line into a ConfigOpts.

Shared by ``cloudprefs-api``, ``cloudprefs-manage`` and the WSGI entry
point, so that every way of running the service reads its configuration
the same way.
"""

import logging
import urllib.parse

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log

from cloudprefs import conf as cloudprefs_conf
from cloudprefs.conf import keystone_authtoken
from cloudprefs.service import logsafe

LOG = logging.getLogger(__name__)
PROJECT = 'cloudprefs'

# The original product's command-line flags. oslo.config already uses the
# attribute "database" for the [database] group, so each flag has its own
# dest, applied to the real options by apply_command_line().
CLI_OPTS = [
    cfg.PortOpt('port', dest='cli_port',
                help='Port to listen on (overrides bind_port).'),
    cfg.IntOpt('workers', dest='cli_workers', min=1,
               help='Worker processes (overrides api_workers).'),
    cfg.StrOpt('mongodb', dest='cli_mongodb_hosts',
               metavar='HOST[:PORT][,HOST[:PORT]...]',
               help='MongoDB server, replica set members or mongos routers; '
                    'overrides [database] connection with a mongodb:// URL. '
                    'Put credentials and TLS options in [database] '
                    'connection instead.'),
    cfg.StrOpt('mongodb-database', dest='cli_mongodb_database',
               default='cloudprefs', metavar='NAME',
               help='Database name used with --mongodb.'),
]


class ConfigurationError(Exception):
    """The configuration cannot work; the message says what to set."""


def mongodb_url(hosts, database):
    hosts = ','.join(host.strip() for host in hosts.split(',')
                     if host.strip())
    if not hosts:
        raise ConfigurationError('--mongodb needs at least one HOST[:PORT]')
    return 'mongodb://%s/%s' % (hosts, urllib.parse.quote(database, safe=''))


def apply_command_line(conf):
    """Let the command-line flags win over the configuration files."""
    if conf.cli_port is not None:
        conf.set_override('bind_port', conf.cli_port)
    if conf.cli_workers is not None:
        conf.set_override('api_workers', conf.cli_workers)
    if conf.cli_mongodb_hosts:
        conf.set_override('connection',
                          mongodb_url(conf.cli_mongodb_hosts,
                                      conf.cli_mongodb_database),
                          group='database')


def check_auth_strategy(conf):
    """Refuse a keystone strategy that cannot validate tokens."""
    if conf.auth_strategy == 'noauth':
        LOG.warning('auth_strategy = noauth: identities are trusted from '
                    'the X-User-Id and X-Roles headers of every request. '
                    'Use it for development and tests only.')
        return
    try:
        plugin = ks_loading.load_auth_from_conf_options(
            conf, keystone_authtoken.GROUP)
    except (ks_exceptions.MissingRequiredOptions,
            ks_exceptions.NoMatchingPlugin) as error:
        plugin = None
        reason = str(error)
    else:
        reason = 'auth_type is not set'
    if plugin is None:
        raise ConfigurationError(
            'auth_strategy = keystone needs usable [keystone_authtoken] '
            'settings (%s): set www_authenticate_uri, auth_type = password, '
            'auth_url, username, password, project_name, user_domain_name '
            'and project_domain_name; for local development only, use '
            'auth_strategy = noauth.' % reason)


def prepare_conf(argv, default_config_files=None, command_line=True,
                 extra_cli_opts=()):
    """Register options, parse ``argv`` and the files, set up logging."""
    conf = cfg.ConfigOpts()
    cloudprefs_conf.register_opts(conf)
    log.register_options(conf)
    log.set_defaults(default_log_levels=log.get_default_log_levels()
                     + ['alembic=WARN'])
    if command_line:
        conf.register_cli_opts(CLI_OPTS)
    for opt in extra_cli_opts:
        conf.register_cli_opt(opt)
    conf(argv, project=PROJECT, default_config_files=default_config_files)
    if command_line:
        apply_command_line(conf)
    log.setup(conf, PROJECT)
    logsafe.install()
    return conf
