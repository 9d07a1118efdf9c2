"""The ``openstack preference`` commands.

PATH arguments are key paths written ``a/b/c``: ``/`` separates keys and
each key is percent-decoded, so a key containing a slash is ``%2F``.
"""

import argparse
import json

from cliff import columns
from osc_lib.command import command
from osc_lib import exceptions as osc_exceptions

from cloudprefsclient import client
from cloudprefsclient import exceptions
from cloudprefsclient import paths


class JSONColumn(columns.FormattableColumn):
    """A JSON value: compact JSON text in a table, the value itself in
    ``-f json`` and ``-f yaml``."""

    def human_readable(self):
        return json.dumps(self._value, ensure_ascii=False,
                          separators=(',', ':'))

    def machine_readable(self):
        return self._value


def _parse_json(text, what):
    try:
        return json.loads(text)
    except ValueError as error:
        raise osc_exceptions.CommandError('%s is not valid JSON: %s'
                                          % (what, error))


def _add_json_source(parser, what):
    """--value JSON or --file FILE, one of them required; the group."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--value', metavar='<json>',
                        help='The %s, as JSON text' % what)
    source.add_argument('--file', metavar='<file>',
                        type=argparse.FileType('r', encoding='utf-8'),
                        help='Read the %s from this file ("-": standard '
                             'input)' % what)
    return source


def _read_json_source(parsed_args):
    """The JSON of --file or --value."""
    if parsed_args.file is not None:
        with parsed_args.file:
            return _parse_json(parsed_args.file.read(), 'The file')
    return _parse_json(parsed_args.value, '--value')


def _add_user_option(parser):
    """--user, and the layer options --scope, --project, --domain."""
    parser.add_argument(
        '--user', metavar='<user-id>', dest='user_id',
        help='Act on the data of this user (administrators only; the '
             'API\'s ?user_id=)')
    parser.add_argument(
        '--scope', choices=client.SCOPES, default='user',
        help='Act on this layer (API 1.4): your own (user, the default), '
             'your project\'s, your domain\'s or the cloud\'s')
    parser.add_argument(
        '--project', metavar='<project-id>', dest='layer_project_id',
        help='With --scope project: this project\'s layer instead of your '
             'token\'s (administrators only)')
    parser.add_argument(
        '--domain', metavar='<domain-id>', dest='layer_domain_id',
        help='With --scope domain: this domain\'s layer instead of your '
             'token\'s (administrators only)')


def _add_effective_option(parser, what):
    parser.add_argument(
        '--effective', action='store_true', default=False,
        help='%s as your layers merge: cloud, domain, project and yours, '
             'each over the ones before (API 1.4)' % what)


def _add_target_arguments(parser):
    parser.add_argument('container', metavar='<container>',
                        help='Container name')
    parser.add_argument('path', metavar='<path>', nargs='?',
                        help='Key path inside the container, a/b/c (a "/" '
                             'inside a key is written %%2F)')


def _client(command_instance, parsed_args):
    """The client, scoped to the layer the options name."""
    prefs = command_instance.app.client_manager.preference
    scope = getattr(parsed_args, 'scope', 'user')
    project_id = getattr(parsed_args, 'layer_project_id', None)
    domain_id = getattr(parsed_args, 'layer_domain_id', None)
    if scope == 'user' and project_id is None and domain_id is None:
        return prefs
    try:
        return prefs.scoped(scope, project_id=project_id,
                            domain_id=domain_id)
    except ValueError as error:
        raise osc_exceptions.CommandError(
            '%s (--project goes with --scope project, --domain with '
            '--scope domain)' % error)


class ListPreference(command.Lister):
    """List your containers"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--prefix', metavar='<prefix>',
                            help='Only containers whose name starts with '
                                 'this')
        parser.add_argument('--marker', metavar='<container>',
                            help='Only containers after this name')
        parser.add_argument('--limit', metavar='<num>', type=int,
                            help='At most this many containers')
        parser.add_argument('--long', action='store_true', default=False,
                            help='Also show each container\'s size, '
                                 'revision and (API 1.3) expiry time (API '
                                 '1.2: one request a page; before: one '
                                 'more request each)')
        _add_user_option(parser)
        _add_effective_option(parser, 'The names of every layer')
        return parser

    def take_action(self, parsed_args):
        prefs = _client(self, parsed_args)
        query = dict(prefix=parsed_args.prefix, marker=parsed_args.marker,
                     limit=parsed_args.limit, user_id=parsed_args.user_id)
        if parsed_args.effective:
            if parsed_args.long:
                raise osc_exceptions.CommandError(
                    '--long does not go with --effective.')
            return ('Name',), [(name,) for name in prefs.list(
                effective=True, **query)]
        if parsed_args.long and prefs.has_api_version(
                client.EXPIRY_VERSION):
            return ('Name', 'Bytes', 'Revision', 'Expires At'), [
                (detail.name, detail.bytes, detail.etag.strip('"'),
                 detail.expires_at)
                for detail in prefs.list_details(**query)]
        if parsed_args.long and prefs.has_api_version(
                client.DETAILED_LISTING_VERSION):
            return ('Name', 'Bytes', 'Revision'), [
                (detail.name, detail.bytes, detail.etag.strip('"'))
                for detail in prefs.list_details(**query)]
        names = list(prefs.list(**query))
        if not parsed_args.long:
            return ('Name',), [(name,) for name in names]
        rows = []
        for name in names:
            stat = prefs.stat(name, user_id=parsed_args.user_id)
            rows.append((name, stat.bytes, (stat.etag or '').strip('"')))
        return ('Name', 'Bytes', 'Revision'), rows


class ShowPreference(command.ShowOne):
    """Show a container, or the value at a key path in it

    With -f json the stored JSON is printed as it is; a table shows an
    object's keys and their values.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_target_arguments(parser)
        _add_user_option(parser)
        _add_effective_option(parser, 'The container or value')
        return parser

    def take_action(self, parsed_args):
        self._value = _client(self, parsed_args).get(
            parsed_args.container, parsed_args.path,
            user_id=parsed_args.user_id, effective=parsed_args.effective)
        return self._columns_of_value()

    def _columns_of_value(self):
        if isinstance(self._value, dict):
            keys = sorted(self._value)
            return keys, [JSONColumn(self._value[key]) for key in keys]
        return ('Value',), (JSONColumn(self._value),)

    def produce_output(self, parsed_args, column_names, data):
        if parsed_args.formatter == 'json' and not parsed_args.columns:
            # The value itself, whatever JSON it is, not {column: value}.
            json.dump(self._value, self.app.stdout, ensure_ascii=False,
                      indent=None if parsed_args.noindent else 2)
            self.app.stdout.write('\n')
            return 0
        return super().produce_output(parsed_args, column_names, data)


class SetPreference(command.Command):
    """Set a value, merge into a container or replace it.

    With PATH: --value/--file sets the value at the key path (creating the
    container and missing objects); --merge applies it as an RFC 7396
    merge patch instead. Without PATH: the object given replaces the
    container, or with --merge its top-level keys are set. Each --property
    KEY=VALUE sets one key (VALUE is JSON when it parses, else a string).
    --delete-after/--delete-at/--no-expiry set or clear when the container
    expires (API 1.3); without them it keeps its expiry.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_target_arguments(parser)
        source = _add_json_source(parser, 'value')
        source.add_argument('--property', metavar='<key=value>',
                            action='append', dest='properties',
                            help='Set this key (repeat for more)')
        parser.add_argument('--merge', action='store_true', default=False,
                            help='Merge into what is there instead of '
                                 'replacing it')
        parser.add_argument('--if-match', metavar='<etag>',
                            help='Write only if the container is still at '
                                 'this revision')
        expiry = parser.add_mutually_exclusive_group()
        expiry.add_argument('--delete-after', metavar='<seconds>', type=int,
                            help='The container expires this many seconds '
                                 'from now (API 1.3)')
        expiry.add_argument('--delete-at', metavar='<unix-time>', type=int,
                            help='The container expires at this Unix time '
                                 '(API 1.3)')
        expiry.add_argument('--no-expiry', action='store_true',
                            default=False,
                            help='The container no longer expires '
                                 '(API 1.3)')
        _add_user_option(parser)
        return parser

    def take_action(self, parsed_args):
        try:
            self._set(parsed_args)
        except exceptions.VersionNotAvailable as error:
            raise osc_exceptions.CommandError(str(error))

    def _set(self, parsed_args):
        prefs = _client(self, parsed_args)
        target = dict(user_id=parsed_args.user_id,
                      if_match=parsed_args.if_match,
                      expiry=_expiry(parsed_args))
        container, path = parsed_args.container, parsed_args.path
        if parsed_args.properties:
            values = {}
            for item in parsed_args.properties:
                key, sep, text = item.partition('=')
                if not sep or not key:
                    raise osc_exceptions.CommandError(
                        '--property wants KEY=VALUE, not %r' % item)
                try:
                    values[key] = json.loads(text)
                except ValueError:
                    values[key] = text
            if path is None:
                # One write: the seed's merge sets exactly these keys.
                prefs.merge(container, values, **target)
                return
            # One write per key, each conditional on the one before when
            # --if-match is given, so a concurrent writer is noticed.
            etag = parsed_args.if_match
            for key, value in values.items():
                etag = prefs.set_value(
                    container, paths.split(path) + [key], value,
                    user_id=parsed_args.user_id,
                    if_match=etag if parsed_args.if_match else None,
                    expiry=target['expiry'])
            return
        value = _read_json_source(parsed_args)
        if path is not None:
            if parsed_args.merge:
                prefs.merge_patch(container, value, path=path, **target)
            else:
                prefs.set_value(container, path, value, **target)
            return
        if not isinstance(value, dict):
            raise osc_exceptions.CommandError(
                'A container is a JSON object; give PATH to set another '
                'value.')
        if parsed_args.merge:
            prefs.merge(container, value, **target)
        else:
            prefs.replace(container, value, **target)


def _expiry(parsed_args):
    """The write's client.Expiry from --delete-after/--delete-at/
    --no-expiry, or None."""
    if parsed_args.delete_after is not None:
        return client.Expiry.after(parsed_args.delete_after)
    if parsed_args.delete_at is not None:
        return client.Expiry.at(parsed_args.delete_at)
    if parsed_args.no_expiry:
        return client.Expiry.NEVER
    return None


class PatchPreference(command.Command):
    """Apply a JSON Patch (RFC 6902) to a container, all or nothing

    The patch is a JSON array of operations, e.g.
    '[{"op": "test", "path": "/theme", "value": "dark"},
      {"op": "replace", "path": "/theme", "value": "light"}]'.
    Needs API version 1.1.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('container', metavar='<container>',
                            help='Container name')
        _add_json_source(parser, 'patch')
        parser.add_argument('--if-match', metavar='<etag>',
                            help='Patch only if the container is still at '
                                 'this revision')
        _add_user_option(parser)
        return parser

    def take_action(self, parsed_args):
        operations = _read_json_source(parsed_args)
        try:
            _client(self, parsed_args).json_patch(
                parsed_args.container, operations,
                user_id=parsed_args.user_id, if_match=parsed_args.if_match)
        except exceptions.VersionNotAvailable as error:
            raise osc_exceptions.CommandError(str(error))


class DeletePreference(command.Command):
    """Delete a container, or the key at a key path in it"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_target_arguments(parser)
        parser.add_argument('--if-match', metavar='<etag>',
                            help='Delete only if the container is still at '
                                 'this revision')
        _add_user_option(parser)
        return parser

    def take_action(self, parsed_args):
        _client(self, parsed_args).delete(
            parsed_args.container, parsed_args.path,
            user_id=parsed_args.user_id, if_match=parsed_args.if_match)


class PurgePreference(command.Command):
    """Delete all the containers of a user (yours without --user)"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_user_option(parser)
        parser.add_argument('--yes-i-really-mean-it', action='store_true',
                            dest='confirmed', default=False,
                            help='Confirm that every container goes')
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.confirmed:
            raise osc_exceptions.CommandError(
                'This deletes every container of %s; repeat with '
                '--yes-i-really-mean-it to do it.'
                % (parsed_args.user_id or 'your user'))
        _client(self, parsed_args).delete_all(user_id=parsed_args.user_id)


class ShowPreferenceUsage(command.ShowOne):
    """Show how many containers and bytes a user has, and the quotas"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_user_option(parser)
        return parser

    def take_action(self, parsed_args):
        usage = _client(self, parsed_args).usage(user_id=parsed_args.user_id)
        return (('Containers', 'Bytes', 'Container Quota', 'Bytes Quota'),
                (usage.containers, usage.bytes, usage.container_quota,
                 usage.bytes_quota))


class ListPreferenceChanges(command.Lister):
    """List the containers changed after a cursor (your change feed)

    Each changed container once, at its latest change, in change order;
    the cursor to continue from is printed on standard error.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--since', metavar='<cursor>', default='0',
                            help='Changes after this cursor (default: from '
                                 'the beginning)')
        parser.add_argument('--wait', metavar='<seconds>', type=int,
                            help='When nothing changed after the cursor, '
                                 'wait up to this long for a change')
        parser.add_argument('--limit', metavar='<num>', type=int,
                            help='At most this many changes')
        _add_user_option(parser)
        return parser

    def take_action(self, parsed_args):
        page = _client(self, parsed_args).changes(
            since=parsed_args.since, limit=parsed_args.limit,
            wait=parsed_args.wait, user_id=parsed_args.user_id)
        self.app.stderr.write('Next cursor: %s%s\n' % (
            page.cursor, ' (more changes waiting)' if page.more else ''))
        return (('Container', 'ETag', 'Deleted'),
                [(change.container, change.etag, change.deleted)
                 for change in page.changes])


class WatchPreference(ShowPreference):
    """Wait for a container, or the value at a key path, to change; show
    the new value

    Exits with an error when nothing changed within the wait.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--etag', metavar='<etag>',
                            help='Wait while it is at this revision '
                                 '(default: the revision it has now)')
        parser.add_argument('--wait', metavar='<seconds>', type=int,
                            default=55,
                            help='Wait up to this long (default 55; the '
                                 'service caps it, 60 s by default)')
        return parser

    def take_action(self, parsed_args):
        prefs = _client(self, parsed_args)
        target = dict(path=parsed_args.path, user_id=parsed_args.user_id,
                      effective=parsed_args.effective)
        etag = parsed_args.etag
        if etag is None:
            etag = prefs.get_with_etag(parsed_args.container, **target)[1]
        changed = prefs.watch(parsed_args.container, etag,
                              wait=parsed_args.wait, **target)
        if changed is None:
            raise osc_exceptions.CommandError(
                'No change within %d seconds.' % parsed_args.wait)
        self._value, etag = changed
        self.app.stderr.write('ETag: %s\n' % etag)
        return self._columns_of_value()
