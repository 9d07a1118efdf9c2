"""Entry point for oslo-config-generator (namespace ``cloudprefs``)."""

from cloudprefs import conf as cloudprefs_conf


def list_opts():
    opts = []
    for module in cloudprefs_conf.MODULES:
        opts.extend(module.list_opts())
    return opts
