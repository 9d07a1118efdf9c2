"""cloudprefs-manage: database administration.

    cloudprefs-manage --config-file /etc/cloudprefs/cloudprefs.conf db_sync
"""

import sys

from oslo_config import cfg

from cloudprefs import service
from cloudprefs import storage


def db_sync(conf):
    """Create or upgrade the schema and indexes; safe to run again."""
    storage.get_driver(conf).upgrade()
    print('Database schema is up to date.')


COMMANDS = {
    'db_sync': db_sync,
}


def _add_command_parsers(subparsers):
    for name, function in COMMANDS.items():
        parser = subparsers.add_parser(name, help=function.__doc__)
        parser.set_defaults(function=function)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command_opt = cfg.SubCommandOpt('command', title='Commands',
                                    handler=_add_command_parsers)
    conf = service.prepare_conf(argv, command_line=False,
                                extra_cli_opts=[command_opt])
    try:
        conf.command.function(conf)
    except storage.exceptions.StorageError as error:
        sys.exit('cloudprefs-manage: %s: %r' % (error, error.__cause__))
    return 0


if __name__ == '__main__':
    sys.exit(main())
