"""Building configuration for drivers and services under test."""

import json

from oslo_config import cfg

from cloudprefs import conf as cloudprefs_conf


def make_conf(connection, **api_overrides):
    """A ConfigOpts with the service's options and ``connection`` set."""
    conf = cfg.ConfigOpts()
    cloudprefs_conf.register_opts(conf)
    conf([], project='cloudprefs', default_config_files=[])
    conf.set_override('connection', connection, group='database')
    conf.set_override('timeout', 2.0, group='database')
    conf.set_override('operation_timeout', 10.0, group='database')
    for name, value in api_overrides.items():
        conf.set_override(name, value, group='api')
    return conf


def canonical(value):
    """JSON text that tells 1 from 1.0 and true from 1; keys sorted."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def write_config_file(path, sections):
    """Write an ini file from ``{section: {option: value}}``."""
    with open(path, 'w') as config_file:
        for section, options in sections.items():
            config_file.write('[%s]\n' % section)
            for name, value in options.items():
                config_file.write('%s = %s\n' % (name, value))
            config_file.write('\n')
    return path
