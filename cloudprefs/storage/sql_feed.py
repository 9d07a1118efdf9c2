"""The SQL driver's change feed, mixed into
:class:`cloudprefs.storage.sql.SQLDriver`.

The change feed (``user_feed``, ``container_changes``) changes in the
write's transaction too: the write bumps the user's feed row, whose lock
it holds to its commit, so the user's writes commit in the order of their
positions and a reader that sees position N has seen every position
before it. On PostgreSQL the compare-and-swap, the usage change and the
feed entry are one statement.
"""

import contextlib

import sqlalchemy as sa

from cloudprefs.storage import records
from cloudprefs.storage.sql_tables import user_feed

# IN lists of at most this many user ids (SQLite before 3.32 takes 999
# parameters).
IDS_PER_QUERY = 500


class FeedSteps:
    """The feed primitives, on the driver's statements and connections
    (``user_feed``: a row per owner with its last position and newest
    dropped tombstone; ``container_changes``: each container's latest
    change)."""

    def read_feed(self, user_id, after, limit):
        user = {'user_id': user_id.encode('utf-8')}
        read_row = self._statements['read_feed_row']
        with self._raw() as connection:
            # The position first: every change at or before it has
            # committed (positions commit in order), so a cursor of it
            # skips nothing.
            row = read_row.fetch_one(connection, **user)
            if row is None:
                return records.FeedRead([], 0, 0)
            rows = self._statements['read_changes'].fetch_all(
                connection, after=after, limit=limit, **user)
            # Expired last: a tombstone dropped before the entries were
            # read raised it before it went, in one transaction.
            expired = read_row.fetch_one(connection, **user)[1]
        entries = [records.FeedEntry(bytes(name).decode('utf-8'), revision,
                                     seq) for name, revision, seq in rows]
        return records.FeedRead(entries, row[0], expired)

    def read_feed_position(self, user_id):
        with self._raw() as connection:
            row = self._statements['read_feed_row'].fetch_one(
                connection, user_id=user_id.encode('utf-8'))
        return 0 if row is None else row[0]

    def read_feed_positions(self, user_ids):
        f = user_feed.c
        positions = {}
        with self._connection() as connection:
            for start in range(0, len(user_ids), IDS_PER_QUERY):
                query = sa.select(f.user_id, f.seq).where(
                    f.user_id.in_(user_ids[start:start + IDS_PER_QUERY]))
                positions.update(connection.execute(query).all())
        return positions

    def drop_tombstones(self, before_us, limit):
        dropped = 0
        for user in self._users_of('users_with_old_tombstones',
                                   before=before_us, limit=limit):
            values = dict(user_id=user, before=before_us)
            with self._feed_locked(user) as connection:
                self._statements['raise_expired'].execute(connection,
                                                          **values)
                dropped += self._statements['drop_tombstones'].execute(
                    connection, **values)
        return dropped

    def drop_excess_tombstones(self, keep, limit):
        dropped = 0
        for user in self._users_of('users_over_tombstones', keep=keep,
                                   limit=limit):
            with self._feed_locked(user) as connection:
                row = self._statements['newest_excess_tombstone'].fetch_one(
                    connection, user_id=user, keep=keep)
                if row is None:
                    continue
                values = dict(user_id=user, seq=row[0])
                self._statements['raise_expired_to'].execute(connection,
                                                             **values)
                dropped += self._statements['drop_tombstones_to'].execute(
                    connection, **values)
        return dropped

    def _users_of(self, statement, **params):
        """The user ids (bytes) a statement of users selects."""
        with self._raw() as connection:
            return [bytes(row[0]) for row in self._statements[
                statement].fetch_all(connection, **params)]

    @contextlib.contextmanager
    def _feed_locked(self, user):
        """A transaction holding ``user``'s feed row: writers of the user
        wait on this lock before they touch their feed entries."""
        with self._client.writer(), self._transaction() as connection:
            self._statements['lock_feed_row'].fetch_one(connection,
                                                        user_id=user)
            yield connection
