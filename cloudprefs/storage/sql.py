"""SQL storage driver (SQLAlchemy Core): SQLite, MariaDB/MySQL, PostgreSQL.

The primitives of :class:`~cloudprefs.storage.base.StorageDriver` as SQL
statements; the connection, its errors and its pool are
:mod:`cloudprefs.storage.sql_client`'s, the schema is in
:mod:`cloudprefs.storage.sql_tables` and its versions are alembic
migrations (:mod:`cloudprefs.storage.sql_migration`).

A container is one row; its value is compact JSON text. The
compare-and-swap is ``UPDATE ... WHERE revision = <read revision>`` (or
``INSERT``, relying on the primary key): the same on every dialect, no
lock held across round trips, and correct on a Galera cluster, where a
row lock taken on one node does not stop a writer on another (the loser
gets a certification failure, which is transient). With quotas, the usage
record changes in the write's own transaction.

The change feed's primitives are :mod:`cloudprefs.storage.sql_feed`'s,
mixed into the driver.

The statements are :mod:`cloudprefs.storage.sql_statements`'s.

A path read of a large container reads its path index first (see
:mod:`cloudprefs.storage.path_index`) and then only the bytes it needs.
"""

import json
import logging
import time

import sqlalchemy as sa

from cloudprefs.storage import base
from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import heavy_work
from cloudprefs.storage import path_index
from cloudprefs.storage import records
from cloudprefs.storage import sql_client
from cloudprefs.storage import sql_feed
from cloudprefs.storage import sql_migration
from cloudprefs.storage import sql_statements
from cloudprefs.storage import sql_usage
from cloudprefs.storage.sql_tables import containers
from cloudprefs.storage.sql_tables import user_usage

LOG = logging.getLogger(__name__)


def _key(user_id, name):
    return {'user_id': user_id.encode('utf-8'), 'name': name.encode('utf-8')}


class SQLDriver(sql_feed.FeedSteps, sql_usage.UsageSteps,
                base.StorageDriver):

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self._client = sql_client.SQLClient(url, conf)
        dialect = self._client.engine.dialect
        self._statements = sql_statements.compile_statements(dialect)
        self._one_statement = sql_statements.one_statement_writes(dialect)
        self._returns_id = self._client.dialect in ('mysql', 'mariadb')
        self._reads_paths = (not self._client.is_sqlite
                             or sql_statements.sqlite_has_json_functions())
        self._schema_ready = False

    # Primitives: reads ---------------------------------------------------

    def read(self, user_id, name):
        with self._raw() as connection:
            row = self._statements['read'].fetch_one(
                connection, **_key(user_id, name))
        return None if row is None else records.Stored(*row)

    def read_many(self, user_ids, name):
        if not user_ids or len(user_ids) > 4:
            return super().read_many(user_ids, name)
        # One statement of four owners: fewer are padded with the first.
        owners = (list(user_ids) + [user_ids[0]] * 4)[:4]
        with self._raw() as connection:
            rows = self._statements['read_many'].fetch_all(
                connection, name=name.encode('utf-8'),
                **{'owner%d' % index: owner.encode('utf-8')
                   for index, owner in enumerate(owners)})
        return {bytes(row[0]).decode('utf-8'): records.Stored(*row[1:])
                for row in rows}

    def read_meta(self, user_id, name):
        with self._raw() as connection:
            row = self._statements['read_meta'].fetch_one(
                connection, **_key(user_id, name))
        return None if row is None else records.Meta(*row)

    def read_path(self, user_id, name, path):
        if not self._reads_paths:
            return super().read_path(user_id, name, path)
        key = _key(user_id, name)
        with self._raw() as connection:
            row = self._statements['read_unless_indexed'].fetch_one(
                connection, **key)
            if row is None:
                return None
            meta, whole = records.Meta(*row[:4]), row[4]
            if whole is None:       # indexed: read just the part
                first, second = path_index.lookup_keys(path)
                entries = self._statements['read_index'].fetch_one(
                    connection, k1=first, k2=second,
                    revision=meta.revision, **key)
                location = entries and path_index.locate(
                    path, *(entry and json.loads(entry)
                            for entry in entries))
                if location:
                    piece = self._statements['read_slice'].fetch_one(
                        connection, start=location.offset + 1,
                        length=location.length, revision=meta.revision,
                        **key)
        if whole is not None:
            text, depth = whole, 0
        else:
            if entries is None or location and piece is None:
                # Written since its revision was read: the retry policy
                # reads it again.
                raise exceptions.TransientError('the container changed')
            if location is None:
                return records.PathRead(meta, None)
            text, depth = piece[0], location.depth
            if isinstance(text, (bytes, bytearray)):
                text = bytes(text).decode('utf-8')
        # Parsed with the database connection given back.
        with heavy_work.turns.step(len(text)):
            found = document.text_at_path(text, path[depth:])
        return records.PathRead(meta, found)

    def list_names(self, user_id, limit, marker, prefix):
        query = self._listing(sa.select(containers.c.name), user_id, limit,
                              marker, prefix)
        with self._connection() as connection:
            return connection.execute(query).scalars().all()

    def list_metas(self, user_id, limit, marker, prefix):
        c = containers.c
        query = self._listing(sa.select(c.name, c.revision, c.modified_us,
                                        c.size, c.expires_at), user_id,
                              limit, marker, prefix)
        with self._connection() as connection:
            return [(row[0], records.Meta(*row[1:]))
                    for row in connection.execute(query)]

    @staticmethod
    def _listing(query, user_id, limit, marker, prefix):
        """``query`` of the user's containers in name order, from
        ``marker``, of ``prefix``, at most ``limit``."""
        name = containers.c.name
        query = query.where(containers.c.user_id == user_id,
                            sql_statements.live(records.now_s())
                            ).order_by(name)
        if marker is not None:
            query = query.where(name > marker)
        if prefix:
            query = query.where(name >= prefix)
            upper = sql_statements.prefix_upper_bound(prefix)
            if upper is not None:
                # Compared as raw bytes: the bound may not be valid UTF-8.
                query = query.where(name < sa.literal(upper,
                                                      sa.LargeBinary()))
        if limit is not None:
            query = query.limit(limit)
        return query

    def list_expired(self, now, limit):
        with self._raw() as connection:
            rows = self._statements['list_expired'].fetch_all(
                connection, now=now, limit=limit)
        return [(bytes(user).decode('utf-8'), bytes(name).decode('utf-8'),
                 revision, size) for user, name, revision, size in rows]

    def list_stored(self, after, limit):
        c = containers.c
        query = (sa.select(c.user_id, c.name, c.revision, c.modified_us,
                           c.size, c.value, c.expires_at)
                 .where(sql_statements.live(records.now_s()))
                 .order_by(c.user_id, c.name).limit(limit))
        if after is not None:
            query = query.where(sa.tuple_(c.user_id, c.name) > after)
        with self._connection() as connection:
            return [(row.user_id, row.name, records.Stored(*row[2:]))
                    for row in connection.execute(query)]

    def ping(self):
        with self._client.connection() as connection:
            connection.execute(sa.text('SELECT 1'))

    # Primitives: writes --------------------------------------------------

    def insert_if_absent(self, user_id, name, new, usage):
        return self._compare_and_swap(
            'insert', self._row(user_id, name, new), user_id, usage)

    def replace_if_revision(self, user_id, name, revision, new, usage):
        return self._compare_and_swap(
            'replace', dict(self._row(user_id, name, new),
                            seen_revision=revision), user_id, usage)

    def delete_if_revision(self, user_id, name, revision, usage):
        values = dict(_key(user_id, name), logged_revision=None,
                      changed_us=time.time_ns() // 1000)
        if revision is None:
            return self._compare_and_swap('delete_any', values, user_id,
                                          usage)
        return self._compare_and_swap(
            'delete', dict(values, seen_revision=revision), user_id, usage)

    def _compare_and_swap(self, statement, values, user_id, usage):
        """Run one of the compare-and-swap statements with ``values`` and
        log the change in the feed; the change's feed position, or 0 if
        the statement changed no row (an INSERT that meets the primary
        key changes none).

        The feed entry, and with ``usage`` the user's usage record, change
        in the same transaction, which is rolled back unless the
        statement changed a row.
        """
        if self._one_statement is not None:
            position = self._one_statement_write(statement, values, usage)
            if position is not None:
                return position
        compiled = self._statements[statement]
        with self._client.writer():
            try:
                with self._transaction() as connection:
                    try:
                        if usage is not None:
                            self._add_usage(connection, user_id, usage)
                        changed = compiled.execute(connection, **values)
                    except self._client.integrity_errors:
                        changed = 0     # lost the race to insert a row
                    if changed != 1:
                        raise _LostRace()
                    return self._log_changes(connection, user_id, [values])
            except _LostRace:
                return 0

    def _log_changes(self, connection, user_id, changes):
        """Give ``changes`` (a name, logged_revision and changed_us each)
        the next positions of the user's feed, in the write's
        transaction; the last position."""
        user = user_id.encode('utf-8')
        bump = self._statements['bump_feed']
        if self._returns_id:
            last = bump.last_insert_id(connection, user_id=user,
                                       count=len(changes))
        else:
            last = bump.fetch_one(connection, user_id=user,
                                  count=len(changes))[0]
        first = last - len(changes) + 1
        self._statements['log_change'].execute_many(connection, [
            dict(user_id=user, name=change['name'], seq=first + index,
                 logged_revision=change['logged_revision'],
                 changed_us=change['changed_us'])
            for index, change in enumerate(changes)])
        return last

    def delete_all(self, user_id):
        user = {'user_id': user_id.encode('utf-8')}
        changed_us = time.time_ns() // 1000
        with self._client.writer(), self._transaction() as connection:
            # The usage record first, as every writer locks it first.
            self._statements['lock_usage'].fetch_one(connection, **user)
            names = sorted(bytes(row[0]) for row in self._statements[
                'delete_user_returning'].fetch_all(connection, **user))
            self._statements['delete_user_usage'].execute(connection, **user)
            if not names:
                return 0, 0
            position = self._log_changes(connection, user_id, [
                dict(name=name, logged_revision=None, changed_us=changed_us)
                for name in names])
        return len(names), position

    def purge_user(self, user_id):
        user = {'user_id': user_id.encode('utf-8')}
        with self._client.writer(), self._transaction() as connection:
            self._statements['lock_usage'].fetch_one(connection, **user)
            deleted = self._statements['delete_user'].execute(connection,
                                                              **user)
            for statement in ('delete_user_usage', 'delete_changes',
                              'purge_feed'):
                self._statements[statement].execute(connection, **user)
        return deleted

    def list_user_ids(self):
        query = sa.union(sa.select(containers.c.user_id),
                         sa.select(user_usage.c.user_id))
        with self._connection() as connection:
            return sorted(row[0] for row in connection.execute(query))

    def _row(self, user_id, name, new):
        with heavy_work.turns.step(new.size):
            index = path_index.build(new.value, new.size)
        return dict(_key(user_id, name), revision=new.revision,
                    modified_us=new.modified_us, size=new.size,
                    value=new.text, path_index=index,
                    path_index_revision=None if index is None
                    else new.revision, expires_at=new.expires_at,
                    logged_revision=new.revision,
                    changed_us=new.modified_us)

    def _one_statement_write(self, statement, values, usage):
        """The write, its feed entry and its usage change in one statement
        (PostgreSQL): the feed position, or 0 when it lost the race; None
        when the user has no usage record yet (the transaction makes
        it)."""
        with self._client.writer(), self._raw() as connection:
            if usage is None:
                return self._one_statement['uncounted'][statement].fetch_one(
                    connection, **values)[0] or 0
            row = self._one_statement['counted'][statement].fetch_one(
                connection, containers_delta=usage.containers,
                bytes_delta=usage.bytes,
                quota_containers=usage.quota.containers,
                quota_bytes=usage.quota.bytes, **values)
        if row is None:
            return None
        containers, size, position = row
        if position:
            return position
        usage.check(records.Usage(containers, size))    # QuotaExceeded
        return 0    # lost the race

    # Connections, checked against the schema -----------------------------

    def _raw(self):
        self._ensure_schema()
        return self._client.raw()

    def _transaction(self):
        self._ensure_schema()
        return self._client.transaction()

    def _connection(self):
        self._ensure_schema()
        return self._client.connection()

    # Schema --------------------------------------------------------------

    def upgrade(self):
        with self._client.migration_connection() as connection:
            sql_migration.upgrade(connection)
            connection.commit()
        self._schema_ready = True

    def schema_revision(self):
        with self._client.connection() as connection:
            return sql_migration.current_revision(connection)

    def prepare(self):
        try:
            self._ensure_schema()
        except (exceptions.BackendUnavailable, exceptions.TransientError):
            LOG.warning('The database is not reachable at start-up; its '
                        'schema will be checked when it is.')

    def _ensure_schema(self):
        if self._schema_ready:
            return
        if sql_migration.needs_upgrade(self.schema_revision(),
                                       upgrades_itself=self._client.is_sqlite):
            self.upgrade()
        self._schema_ready = True

    def close(self):
        self._client.close()


class _LostRace(Exception):
    """A compare-and-swap inside a transaction changed no row: the
    transaction rolls back the usage change made before it."""
