"""The SQL driver's statements, compiled once per dialect.

The hot statements run on bare DBAPI cursors (:class:`Compiled`):
SQLAlchemy's per-execution work (statement cache keys, the Connection and
result objects) costs more than the round trip to a local database. A few
are written per dialect: reading the path index and a slice of a value's
bytes (see :mod:`cloudprefs.storage.path_index`).
"""

import operator
import sqlite3

import sqlalchemy as sa

from cloudprefs.storage.sql_tables import container_changes
from cloudprefs.storage.sql_tables import containers
from cloudprefs.storage.sql_tables import user_feed
from cloudprefs.storage.sql_tables import user_usage


class Compiled:
    """A statement compiled once for the dialect and run on a bare DBAPI
    cursor. Key columns are passed as UTF-8 bytes, as
    :class:`~cloudprefs.storage.sql_tables.UTF8Bytes` would bind them.
    """

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order = compiled.positiontup if compiled.positional else None
        # Literals in the statement (coalesce(..., 0)) are bound too.
        self._literals = {key: value for key, value in compiled.params.items()
                          if value is not None}

    def _params(self, values):
        if self._literals:
            values = dict(self._literals, **values)
        if self._order is None:
            return values
        return tuple(values[key] for key in self._order)

    def _run(self, dbapi_connection, values, answer):
        """Execute with ``values`` on a cursor of its own; what ``answer``
        reads off the cursor before it is closed."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            return answer(cursor)
        finally:
            cursor.close()

    def fetch_one(self, dbapi_connection, **values):
        return self._run(dbapi_connection, values, _FETCH_ONE)

    def fetch_all(self, dbapi_connection, **values):
        return self._run(dbapi_connection, values, _FETCH_ALL)

    def execute(self, dbapi_connection, **values):
        """Run the statement; the number of rows it changed."""
        return self._run(dbapi_connection, values, _ROWCOUNT)

    def last_insert_id(self, dbapi_connection, **values):
        """Run the statement; the value LAST_INSERT_ID() holds after it
        (MySQL/MariaDB: the OK packet carries it, no second round trip)."""
        return self._run(dbapi_connection, values, _LASTROWID)

    def execute_many(self, dbapi_connection, rows):
        cursor = dbapi_connection.cursor()
        try:
            cursor.executemany(self.sql, [self._params(values)
                                          for values in rows])
        finally:
            cursor.close()


_FETCH_ONE = operator.methodcaller('fetchone')
_FETCH_ALL = operator.methodcaller('fetchall')
_ROWCOUNT = operator.attrgetter('rowcount')
_LASTROWID = operator.attrgetter('lastrowid')


# Per dialect: the path index entry at a key, and a slice of the value's
# UTF-8 bytes (1-based start). Keys are plain ASCII (path_index.index_key).
_INDEX_ENTRY = {
    'postgresql': '(path_index -> CAST({key} AS TEXT))::text',
    'sqlite': 'json_extract(path_index, {key})',
    'mysql': 'JSON_EXTRACT(path_index, {key})',
}
_BYTE_SLICE = {
    'postgresql': "convert_from(substring(convert_to(value, 'UTF8') "
                  "FROM :start FOR :length), 'UTF8')",
    'sqlite': 'CAST(substr(CAST(value AS BLOB), :start, :length) AS TEXT)',
    'mysql': 'SUBSTRING(CAST(value AS BINARY), :start, :length)',
}


# The feed position a write takes, per dialect: the user's row in
# user_feed goes up by :count (made at :count if missing), and its row
# lock, held to the end of the write's transaction, makes the user's
# writers commit in position order. MySQL/MariaDB hand the new value back
# through LAST_INSERT_ID(expr), the others with RETURNING.
_BUMP_FEED = {
    'postgresql': """INSERT INTO user_feed (user_id, seq, expired)
    VALUES (:user_id, :count, 0) ON CONFLICT (user_id)
    DO UPDATE SET seq = user_feed.seq + excluded.seq RETURNING seq""",
    'mysql': """INSERT INTO user_feed (user_id, seq, expired)
    VALUES (:user_id, LAST_INSERT_ID(:count), 0)
    ON DUPLICATE KEY UPDATE seq = LAST_INSERT_ID(seq + :count)""",
}
# A container's entry in the feed becomes its latest change.
_LOG_CHANGE = {
    'postgresql': """INSERT INTO container_changes (user_id, name, seq,
    revision, changed_us) VALUES (:user_id, :name, :seq, :logged_revision,
    :changed_us) ON CONFLICT (user_id, name) DO UPDATE SET
    seq = excluded.seq, revision = excluded.revision,
    changed_us = excluded.changed_us""",
    'mysql': """INSERT INTO container_changes (user_id, name, seq,
    revision, changed_us) VALUES (:user_id, :name, :seq, :logged_revision,
    :changed_us) ON DUPLICATE KEY UPDATE seq = VALUES(seq),
    revision = VALUES(revision), changed_us = VALUES(changed_us)""",
}
# SQLite takes PostgreSQL's upsert syntax.
_BUMP_FEED['sqlite'] = _BUMP_FEED['postgresql']
_LOG_CHANGE['sqlite'] = _LOG_CHANGE['postgresql']

# PostgreSQL: a compare-and-swap, the usage change it makes and its feed
# entry, in one statement (one round trip instead of a seven-statement
# transaction). The usage row is locked first, as in the transaction, so
# that writers of one user check the quota one after another against the
# latest usage; the write happens only within the quota, the usage and
# the feed change only if the write happened. No row comes back when the
# user has no usage record yet.
_FEED_ENTRY = """fed AS (
    INSERT INTO user_feed (user_id, seq, expired)
    SELECT :user_id, 1, 0 FROM changed
    ON CONFLICT (user_id) DO UPDATE SET seq = user_feed.seq + 1
    RETURNING seq),
logged AS (
    INSERT INTO container_changes (user_id, name, seq, revision, changed_us)
    SELECT :user_id, :name, seq, CAST(:logged_revision AS BIGINT),
        :changed_us FROM fed
    ON CONFLICT (user_id, name) DO UPDATE SET seq = excluded.seq,
        revision = excluded.revision, changed_us = excluded.changed_us
    RETURNING seq)"""
_COUNTED = """
WITH usage AS (
    SELECT containers, bytes FROM user_usage
    WHERE user_id = :user_id FOR UPDATE),
changed AS (
    {write}
    RETURNING 1),
counted AS (
    UPDATE user_usage SET containers = containers + :containers_delta,
                          bytes = bytes + :bytes_delta
    WHERE user_id = :user_id AND EXISTS (SELECT 1 FROM changed)
    RETURNING 1),
""" + _FEED_ENTRY + """
SELECT usage.containers, usage.bytes, (SELECT seq FROM logged)
FROM usage
"""
# The same without usage: one row, the feed position or NULL.
_UNCOUNTED = """
WITH changed AS (
    {write}
    RETURNING 1),
""" + _FEED_ENTRY + """
SELECT (SELECT seq FROM logged)
"""
# Only growth is refused (records.UsageChange.check in SQL).
_WITHIN_QUOTA = """EXISTS (SELECT 1 FROM usage WHERE
    (CAST(:containers_delta AS BIGINT) <= 0
     OR CAST(:quota_containers AS BIGINT) IS NULL
     OR containers + :containers_delta <= :quota_containers)
    AND (CAST(:bytes_delta AS BIGINT) <= 0
         OR CAST(:quota_bytes AS BIGINT) IS NULL
         OR bytes + :bytes_delta <= :quota_bytes))"""
_NEW_VALUES = """:revision, :modified_us, :size, :value,
    CAST(:path_index AS JSONB), :path_index_revision,
    CAST(:expires_at AS BIGINT)"""
# The compare-and-swap statements, {within} the quota (counted) or not
# (TRUE).
_WRITES = {
    'insert': """INSERT INTO containers (user_id, name, revision,
        modified_us, size, value, path_index, path_index_revision,
        expires_at)
    SELECT :user_id, :name, {values} WHERE {within}
    ON CONFLICT DO NOTHING""",
    'replace': """UPDATE containers SET (revision, modified_us, size,
        value, path_index, path_index_revision, expires_at) = ({values})
    WHERE user_id = :user_id AND name = :name
    AND revision = :seen_revision AND {within}""",
    'delete': """DELETE FROM containers WHERE user_id = :user_id
    AND name = :name AND revision = :seen_revision AND {within}""",
    'delete_any': """DELETE FROM containers WHERE user_id = :user_id
    AND name = :name AND {within}""",
}


def one_statement_writes(dialect):
    """PostgreSQL: the compare-and-swap statements with their feed entry
    (and, ``counted``, their usage change) in one statement, by the name
    of the plain statement; None where the dialect has no data-modifying
    CTEs (a transaction does it there)."""
    if dialect.name != 'postgresql':
        return None
    return {
        kind: {name: Compiled(sa.text(template.format(write=write.format(
            values=_NEW_VALUES, within=within))), dialect)
            for name, write in _WRITES.items()}
        for kind, template, within in (
            ('counted', _COUNTED, _WITHIN_QUOTA),
            ('uncounted', _UNCOUNTED, 'TRUE'))}


def sqlite_has_json_functions():
    try:
        sqlite3.connect(':memory:').execute("SELECT json_extract('[]', '$')")
    except sqlite3.OperationalError:
        return False
    return True


def live(now):
    """The condition of a container not expired at ``now`` (a Unix
    second, or a bind parameter of one)."""
    expires_at = containers.c.expires_at
    return sa.or_(expires_at.is_(None), expires_at > now)


def compile_statements(dialect):
    """Every statement of the driver, by name, as :class:`Compiled`."""
    c = containers.c
    u = user_usage.c
    f = user_feed.c
    ch = container_changes.c
    bind = sa.bindparam
    this_row = (c.user_id == bind('user_id'), c.name == bind('name'))
    new_row = dict(revision=bind('revision'),
                   modified_us=bind('modified_us'), size=bind('size'),
                   value=bind('value'), path_index=bind('path_index'),
                   path_index_revision=bind('path_index_revision'),
                   expires_at=bind('expires_at'))
    at_revision = c.revision == bind('seen_revision')
    users_totals = sa.select(sa.func.count(),
                             sa.func.coalesce(sa.func.sum(c.size), 0)
                             ).where(c.user_id == bind('user_id'))
    name = 'mysql' if dialect.name == 'mariadb' else dialect.name
    key_path = "'$.\"' || :{0} || '\"'" if name == 'sqlite' else (
        "CONCAT('$.\"', :{0}, '\"')" if name == 'mysql' else ':{0}')
    statements = {
        # Expired rows too: the write algorithm deletes one it meets
        # before writing anew (storage.base).
        'read': sa.select(c.revision, c.modified_us, c.size, c.value,
                          c.expires_at)
        .where(*this_row),
        'read_meta': sa.select(c.revision, c.modified_us, c.size,
                               c.expires_at)
        .where(*this_row),
        # The merged view of the layers: one container of four owners.
        'read_many': sa.select(c.user_id, c.revision, c.modified_us, c.size,
                               c.value, c.expires_at)
        .where(c.name == bind('name'),
               c.user_id.in_([bind('owner%d' % index)
                              for index in range(4)])),
        # The value of a container without a valid index; else none.
        'read_unless_indexed': sa.select(
            c.revision, c.modified_us, c.size, c.expires_at,
            sa.case((c.path_index_revision == c.revision, sa.null()),
                    else_=c.value))
        .where(*this_row),
        'read_index': sa.text(
            'SELECT {first}, {second} FROM containers '
            'WHERE user_id = :user_id AND name = :name '
            'AND path_index_revision = :revision'.format(
                first=_INDEX_ENTRY[name].format(key=key_path.format('k1')),
                second=_INDEX_ENTRY[name].format(
                    key=key_path.format('k2')))),
        'read_slice': sa.text(
            'SELECT %s FROM containers WHERE user_id = :user_id '
            'AND name = :name AND revision = :revision' % _BYTE_SLICE[name]),
        'insert': sa.insert(containers).values(
            user_id=bind('user_id'), name=bind('name'), **new_row),
        'replace': sa.update(containers).where(*this_row, at_revision)
        .values(**new_row),
        'delete': sa.delete(containers).where(*this_row, at_revision),
        'delete_any': sa.delete(containers).where(*this_row),
        'lock_usage': sa.select(u.containers, u.bytes)
        .where(u.user_id == bind('user_id')).with_for_update(),
        # Every row: what the usage record counts until the sweep.
        'count_usage': users_totals,
        # What reads of usage count: the containers not expired.
        'count_live_usage': users_totals.where(live(bind('now'))),
        'list_expired': sa.select(c.user_id, c.name, c.revision, c.size)
        .where(c.expires_at <= bind('now'))
        .order_by(c.expires_at).limit(bind('limit')),
        'insert_usage': sa.insert(user_usage).values(
            user_id=bind('user_id'), containers=bind('containers'),
            bytes=bind('bytes')),
        'add_usage': sa.update(user_usage)
        .where(u.user_id == bind('user_id'))
        .values(containers=u.containers + bind('containers'),
                bytes=u.bytes + bind('bytes')),
        'delete_user': sa.delete(containers)
        .where(c.user_id == bind('user_id')),
        'delete_user_usage': sa.delete(user_usage)
        .where(u.user_id == bind('user_id')),
        # DELETE ... RETURNING: PostgreSQL, MariaDB 10.0.5+, SQLite 3.35+.
        'delete_user_returning': sa.text(
            'DELETE FROM containers WHERE user_id = :user_id '
            'RETURNING name'),
        'bump_feed': sa.text(_BUMP_FEED[name]),
        'log_change': sa.text(_LOG_CHANGE[name]),
        'read_feed_row': sa.select(f.seq, f.expired)
        .where(f.user_id == bind('user_id')),
        'lock_feed_row': sa.select(f.seq)
        .where(f.user_id == bind('user_id')).with_for_update(),
        'read_changes': sa.select(ch.name, ch.revision, ch.seq)
        .where(ch.user_id == bind('user_id'), ch.seq > bind('after'))
        .order_by(ch.seq).limit(bind('limit')),
        # A purge keeps the feed's row and moves it one past every cursor
        # handed out before, all of which expire (the purge took their
        # tombstones). expired first: MySQL assigns left to right, with
        # the values already assigned.
        'purge_feed': sa.update(user_feed)
        .where(f.user_id == bind('user_id'))
        .ordered_values((f.expired, f.seq + 1), (f.seq, f.seq + 1)),
        'delete_changes': sa.delete(container_changes)
        .where(ch.user_id == bind('user_id')),
        'users_with_old_tombstones': sa.select(ch.user_id).distinct()
        .where(ch.revision.is_(None), ch.changed_us < bind('before'))
        .limit(bind('limit')),
        # The user's feed row is locked first: no writer of theirs
        # changes a tombstone between these two statements.
        'raise_expired': sa.text(
            'UPDATE user_feed SET expired = CASE WHEN newest > expired '
            'THEN newest ELSE expired END FROM (SELECT COALESCE(MAX(seq), 0) '
            'AS newest FROM container_changes WHERE user_id = :user_id '
            'AND revision IS NULL AND changed_us < :before) AS dropped '
            'WHERE user_id = :user_id') if name != 'mysql' else sa.text(
            'UPDATE user_feed, (SELECT COALESCE(MAX(seq), 0) AS newest '
            'FROM container_changes WHERE user_id = :user_id '
            'AND revision IS NULL AND changed_us < :before) AS dropped '
            'SET expired = GREATEST(expired, newest) '
            'WHERE user_id = :user_id'),
        'drop_tombstones': sa.delete(container_changes)
        .where(ch.user_id == bind('user_id'), ch.revision.is_(None),
               ch.changed_us < bind('before')),
        # Users with more tombstones than a bound, and the newest of the
        # tombstones past it (the ones to drop are it and those before).
        'users_over_tombstones': sa.select(ch.user_id)
        .where(ch.revision.is_(None)).group_by(ch.user_id)
        .having(sa.func.count() > bind('keep')).limit(bind('limit')),
        'newest_excess_tombstone': sa.select(ch.seq)
        .where(ch.user_id == bind('user_id'), ch.revision.is_(None))
        .order_by(ch.seq.desc()).limit(1).offset(bind('keep')),
        'raise_expired_to': sa.update(user_feed)
        .where(f.user_id == bind('user_id'), f.expired < bind('seq'))
        .values(expired=bind('seq')),
        'drop_tombstones_to': sa.delete(container_changes)
        .where(ch.user_id == bind('user_id'), ch.revision.is_(None),
               ch.seq <= bind('seq')),
    }
    return {key: Compiled(statement, dialect)
            for key, statement in statements.items()}


def prefix_upper_bound(prefix):
    """The smallest UTF-8 byte string greater than every string that
    starts with ``prefix`` (None when there is none)."""
    encoded = bytearray(prefix.encode('utf-8'))
    while encoded and encoded[-1] == 0xFF:
        encoded.pop()
    if not encoded:
        return None
    encoded[-1] += 1
    return bytes(encoded)
