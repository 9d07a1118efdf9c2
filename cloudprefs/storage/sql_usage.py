"""The SQL driver's usage records (quotas), mixed into
:class:`cloudprefs.storage.sql.SQLDriver`: an owner's record changes in
the write's own transaction, under its row lock."""

import sqlalchemy as sa

from cloudprefs.storage import records
from cloudprefs.storage.sql_tables import user_usage


class UsageSteps:
    """Counting, locking and changing usage records, on the driver's
    statements and connections."""

    def count_usage(self, user_id):
        with self._raw() as connection:
            return self._count_usage(connection, user_id, live=True)

    def _count_usage(self, connection, user_id, live=False):
        """The user's containers and bytes: the live ones (``live``, for
        reads), or every row, as the usage record counts until the
        sweep."""
        user = user_id.encode('utf-8')
        if live:
            count, size = self._statements['count_live_usage'].fetch_one(
                connection, user_id=user, now=records.now_s())
        else:
            count, size = self._statements['count_usage'].fetch_one(
                connection, user_id=user)
        return records.Usage(int(count), int(size))

    def forget_usage(self):
        with self._client.writer(), self._connection() as connection:
            connection.execute(sa.delete(user_usage))

    def _add_usage(self, connection, user_id, usage):
        """Change the user's usage record inside the write's transaction.

        The row lock (SELECT ... FOR UPDATE; SQLite: the one writer) holds
        until the transaction ends, so concurrent writers of one user
        check the quota one after another. A missing record is counted
        from the containers; racing to insert it raises IntegrityError,
        which loses the race. Every writer takes this lock before touching
        a container row, so the two locks are always taken in the same
        order.
        """
        user = {'user_id': user_id.encode('utf-8')}
        row = self._statements['lock_usage'].fetch_one(connection, **user)
        if row is None:
            current = self._count_usage(connection, user_id)
            self._statements['insert_usage'].execute(
                connection, containers=current.containers,
                bytes=current.bytes, **user)
        else:
            current = records.Usage(*row)
        usage.check(current)
        if usage.containers or usage.bytes:
            self._statements['add_usage'].execute(
                connection, containers=usage.containers, bytes=usage.bytes,
                **user)
