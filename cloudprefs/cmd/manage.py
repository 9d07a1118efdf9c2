"""cloudprefs-manage: database administration.

    cloudprefs-manage --config-file /etc/cloudprefs/cloudprefs.conf db_sync
    cloudprefs-manage ... db_version
    cloudprefs-manage ... usage_sync
    cloudprefs-manage ... export [--output FILE]
    cloudprefs-manage ... import [--input FILE]
    cloudprefs-manage ... purge_deleted_users [--dry-run]
    cloudprefs-manage ... expire_changes
    cloudprefs-manage ... expire_containers

export writes every user's containers as JSON lines, one container a line:
``{"user_id": ..., "container": ..., "value": {...}, "revision": ...,
"modified_at": ..., "expires_at": ...}`` (``expires_at``, the Unix
second the container expires, only when it does; a shared layer's
container has ``"layer": "project"|"domain"|"cloud"`` and ``"layer_id"``
instead of ``user_id``); import reads the same
lines and stores each container whole, with its expiry (it gets a new
revision; one expired meanwhile is left out), so data moves between any
two drivers, MongoDB to SQL or back.
"""

import contextlib
import json
import os
import sys

from oslo_config import cfg

from cloudprefs.api import body
from cloudprefs.identity import keystone
from cloudprefs.identity import purge
from cloudprefs import notifications
from cloudprefs.service import startup
from cloudprefs import storage
from cloudprefs.storage import document
from cloudprefs.storage import owners
from cloudprefs.storage import records


def db_sync(conf, args):
    """Create or upgrade the schema and indexes; safe to run again."""
    driver = storage.get_driver(conf)
    driver.upgrade()
    revision = driver.schema_revision()
    print('Database schema is up to date%s.'
          % (' (revision %s)' % revision if revision else ''))


def db_version(conf, args):
    """Print the database's schema revision."""
    revision = storage.get_driver(conf).schema_revision()
    print(revision if revision else 'none')


def usage_sync(conf, args):
    """Recount quota usage from the stored containers (needed after
    quotas were switched off and on again; run while writes are quiet)."""
    storage.get_driver(conf).forget_usage()
    print('Usage records dropped; each user is recounted on their next '
          'write.')


@contextlib.contextmanager
def _open(path, mode, default):
    if path in (None, '-'):
        yield default
    elif 'w' in mode:
        # An export holds every user's data: for its owner's eyes only,
        # whatever the umask.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                             0o600)
        os.fchmod(descriptor, 0o600)    # an existing file, too
        with os.fdopen(descriptor, mode, encoding='utf-8') as stream:
            yield stream
    else:
        with open(path, mode, encoding='utf-8') as stream:
            yield stream


def _owner_fields(key):
    """A user's container says ``"user_id"``; a shared layer's says
    ``"layer"`` and ``"layer_id"`` (null for the cloud), never the
    storage key, which no user id can be."""
    owner = owners.parse(key)
    if owner.layer == owners.USER:
        return '"user_id":%s' % document.compact_json(owner.id)
    return '"layer":%s,"layer_id":%s' % (document.compact_json(owner.layer),
                                         document.compact_json(owner.id))


def _export_line(key, name, read):
    # The stored compact JSON goes out as it is, never parsed.
    expiry = ('' if read.expires_at is None
              else ',"expires_at":%d' % read.expires_at)
    return '{%s,"container":%s,"value":%s,"revision":%d,' \
        '"modified_at":%s%s}\n' % (
            _owner_fields(key), document.compact_json(name),
            read.text, read.revision, json.dumps(read.modified_at), expiry)


def _imported_owner_key(record):
    """The storage key of an exported line's owner."""
    if 'layer' not in record:
        user_id = record['user_id']
        if not isinstance(user_id, str) or not user_id:
            raise ValueError('user_id is not a user id')
        return user_id
    layer, layer_id = record['layer'], record.get('layer_id')
    if layer not in owners.SHARED:
        raise ValueError('layer is not one of %s' % ', '.join(owners.SHARED))
    if layer == owners.CLOUD:
        if layer_id is not None:
            raise ValueError('the cloud layer has no layer_id')
    elif not isinstance(layer_id, str) or not owners.is_valid_layer_id(
            layer_id):
        raise ValueError('layer_id is not a %s id' % layer)
    return owners.Owner(layer, layer_id).key


def export(conf, args):
    """Write every user's containers as JSON lines."""
    count = 0
    with _open(args.output, 'w', sys.stdout) as output:
        for user_id, name, read in storage.get_driver(
                conf).export_containers():
            output.write(_export_line(user_id, name, read))
            count += 1
    print('Exported %d containers.' % count, file=sys.stderr)


def import_(conf, args):
    """Store the containers of an export, each replaced whole."""
    driver = storage.get_driver(conf)
    count = expired = 0
    with _open(args.input, 'r', sys.stdin) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = body.parse(line.encode('utf-8'))
                owner_key = _imported_owner_key(record)
                name, value = record['container'], record['value']
                if not isinstance(value, dict):
                    raise ValueError('value is not an object')
                expires_at = record.get('expires_at')
                if expires_at is not None and (
                        type(expires_at) is not int or expires_at < 0):
                    raise ValueError('expires_at is not a Unix second')
            except Exception as error:
                sys.exit('cloudprefs-manage: line %d is not an exported '
                         'container: %s' % (number, error))
            if records.is_expired(expires_at):
                expired += 1
                continue
            driver.replace(owner_key, name, value,
                           expiry=records.Expiry(expires_at))
            count += 1
    print('Imported %d containers%s.' % (
        count, ' (%d expired since the export left out)' % expired
        if expired else ''), file=sys.stderr)


def purge_deleted_users(conf, args):
    """Purge the data of every user Keystone no longer knows, and the
    layers of deleted projects and domains (catch-up for deletions the
    listener missed); never on a Keystone error."""
    driver = storage.get_driver(conf)
    identities = keystone.KeystoneUsers(conf)
    notifier = notifications.Notifications(conf, service='cloudprefs-manage')
    checked, purged, errors = 0, 0, 0
    found = [owners.Owner(owners.USER, user_id)
             for user_id in driver.list_users()]
    for layer in (owners.PROJECT, owners.DOMAIN):
        found.extend(owners.Owner(layer, layer_id)
                     for layer_id in driver.list_layers(layer))
    for owner in found:
        checked += 1
        # Users as they always were named; layers by kind and id.
        name = owner.id if owner.layer == owners.USER else str(owner)
        try:
            exists = identities.exists(owner.id, owner.layer)
        except keystone.KeystoneError as error:
            errors += 1
            print('%s: not checked, Keystone did not answer (%s)'
                  % (name, error))
            continue
        if exists:
            continue
        purged += 1
        if args.dry_run:
            print('%s: deleted in Keystone, would be purged' % name)
            continue
        deleted = purge.purge_owner(driver, notifier, owner,
                                    'not found in Keystone')
        print('%s: deleted in Keystone, purged (%d containers)'
              % (name, deleted))
    notifier.flush()
    print('%d users, projects and domains with data checked, %d %s, %d not '
          'checked.' % (checked, purged,
                        'to purge' if args.dry_run else 'purged', errors))
    if errors:
        sys.exit(1)


def expire_changes(conf, args):
    """Drop the change-feed tombstones older than [changes] retention,
    and each user's past [changes] max_tombstones_per_user (each
    cloudprefs-api worker also does it every [changes] expire_interval).
    """
    dropped = storage.get_driver(conf).expire_tombstones(
        conf.changes.retention,
        max_per_user=conf.changes.max_tombstones_per_user)
    print('Dropped %d tombstones older than %d seconds or past %d per '
          'user.' % (dropped, conf.changes.retention,
                     conf.changes.max_tombstones_per_user))


def expire_containers(conf, args):
    """Delete the containers that have expired (API 1.3, X-Delete-At),
    each with its tombstone and notification (each cloudprefs-api worker
    also does it every [expiry] sweep_interval)."""
    driver = storage.get_driver(conf)
    notifier = notifications.Notifications(conf, service='cloudprefs-manage')
    driver.add_change_listener(notifier.storage_changed,
                               name='notifications')
    deleted = driver.expire_containers()
    notifier.flush()
    print('Deleted %d expired containers.' % deleted)


def _add_command_parsers(subparsers):
    commands = (('db_sync', db_sync), ('db_version', db_version),
                ('usage_sync', usage_sync), ('export', export),
                ('import', import_),
                ('purge_deleted_users', purge_deleted_users),
                ('expire_changes', expire_changes),
                ('expire_containers', expire_containers))
    parsers = {}
    for name, function in commands:
        parser = subparsers.add_parser(name, help=function.__doc__)
        parser.set_defaults(function=function)
        parsers[name] = parser
    parsers['export'].add_argument('--output', default='-',
                                   help='File to write (default: stdout).')
    parsers['import'].add_argument('--input', default='-',
                                   help='File to read (default: stdin).')
    parsers['purge_deleted_users'].add_argument(
        '--dry-run', action='store_true', default=False,
        help='Report whom Keystone no longer knows; purge nothing.')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command_opt = cfg.SubCommandOpt('command', title='Commands',
                                    handler=_add_command_parsers)
    conf = startup.prepare_conf(argv, command_line=False,
                                extra_cli_opts=[command_opt])
    try:
        conf.command.function(conf, conf.command)
    except storage.exceptions.StorageError as error:
        sys.exit('cloudprefs-manage: %s (%r)' % (error, error.__cause__))
    return 0


if __name__ == '__main__':
    sys.exit(main())
