"""SQL storage driver (SQLAlchemy Core): SQLite, MariaDB/MySQL, PostgreSQL.

The schema is in :mod:`cloudprefs.storage.sql_tables`; its versions are
alembic migrations (:mod:`cloudprefs.storage.sql_migration`).

Writes are compare-and-swap on the revision: read the row, compute the new
value in Python, ``UPDATE ... WHERE revision = <read revision>`` (or
``INSERT`` for a new container, relying on the primary key) and start again
if another writer got there first. Chosen over row locks (``SELECT ... FOR
UPDATE``) because it behaves the same on every dialect and on MongoDB,
holds no lock across round trips, and stays correct on a Galera cluster,
where a row lock taken on one node does not stop a writer on another (the
loser gets a certification failure, which is retried like a deadlock).
Without quotas the read is usually skipped: the write starts from what
this process last read or wrote of the container
(:meth:`~cloudprefs.storage.base.StorageDriver._update_in_turn`), and
the same ``WHERE revision`` turns a stale guess into a read and a retry.

The hot statements (the row's SELECT, the compare-and-swap UPDATE and
DELETE, the INSERT) are compiled once and run on bare DBAPI connections
of the autocommit pool; the rest goes through SQLAlchemy Core.

Every operation is safe to run again: a write retried after its commit was
lost re-reads the row and sets the same value once more. So transient
errors (deadlocks, Galera certification failures, lost connections) are
retried until ``[database] timeout`` runs out; then the caller gets
BackendUnavailable.

SQLite under eventlet additionally serializes this process's writers with
a lock (green when eventlet has patched ``threading``), so they never wait
on SQLite's own lock inside the C library, which would stall every request
of the process; SQLite's busy timeout is kept short and a writer of another
process is waited for in Python.
"""

import collections
import contextlib
import fcntl
import json
import logging
import math
import os
import random
import threading
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from cloudprefs.storage import base
from cloudprefs.storage import exceptions
from cloudprefs.storage import sql_migration
from cloudprefs.storage.sql_tables import containers
from cloudprefs.storage.sql_tables import user_usage

LOG = logging.getLogger(__name__)

EXPORT_BATCH = 500

# MySQL/MariaDB error numbers.
_MYSQL_TRANSIENT = {
    1205,   # lock wait timeout
    1213,   # deadlock; also a Galera certification failure
    1020,   # record changed since last read (Galera)
}
_MYSQL_CONNECTION = {
    1047,   # WSREP has not yet prepared node for application use
    1053,   # server shutdown in progress
    1927,   # connection was killed
    2002, 2003, 2006, 2013, 2055,   # cannot connect / server gone / lost
}
# PostgreSQL SQLSTATEs.
_PG_TRANSIENT = {'40001', '40P01'}      # serialization failure, deadlock
_PG_CONNECTION_PREFIXES = ('08', '57P')  # connection exception, shutdown

_TRANSIENT, _CONNECTION, _PERMANENT = 'transient', 'connection', 'permanent'


def classify(error, dbapi_errors=()):
    """Sort a database error into transient, connection or permanent.

    ``error`` is SQLAlchemy's DBAPIError, or the DBAPI's own exception
    from a statement run on a bare DBAPI connection; ``dbapi_errors``
    are then the DBAPI's OperationalError and InterfaceError classes.
    """
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return _CONNECTION
        orig = error.orig
        no_server_answer = isinstance(
            error, (sa_exc.OperationalError, sa_exc.InterfaceError))
    else:
        orig = error
        no_server_answer = isinstance(error, dbapi_errors)
    pgcode = getattr(orig, 'pgcode', None)
    if pgcode:
        if pgcode in _PG_TRANSIENT:
            return _TRANSIENT
        if pgcode.startswith(_PG_CONNECTION_PREFIXES):
            return _CONNECTION
        return _PERMANENT
    code = orig.args[0] if getattr(orig, 'args', None) else None
    if isinstance(code, int):
        if code in _MYSQL_TRANSIENT:
            return _TRANSIENT
        if code in _MYSQL_CONNECTION:
            return _CONNECTION
    if 'database is locked' in str(orig):   # SQLite, another process
        return _TRANSIENT
    if no_server_answer:
        # No code: the client library could not reach the server at all.
        return _CONNECTION
    return _PERMANENT


StoredRow = collections.namedtuple(
    'StoredRow', ['value', 'revision', 'modified_us', 'size'])


class _Prepared:
    """A statement compiled once for the dialect and run on a bare DBAPI
    cursor: SQLAlchemy's per-execution work (statement cache keys, the
    Connection and result objects) costs more than the round trip to a
    local database. Values of key columns are passed as UTF-8 bytes, as
    :class:`~cloudprefs.storage.sql_tables.UTF8Bytes` would bind them.
    """

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order = compiled.positiontup if compiled.positional else None

    def _params(self, values):
        if self._order is None:
            return values
        return tuple(values[key] for key in self._order)

    def fetch_one(self, dbapi_connection, **values):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            return cursor.fetchone()
        finally:
            cursor.close()

    def execute(self, dbapi_connection, **values):
        """Run the statement; the number of rows it changed."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            return cursor.rowcount
        finally:
            cursor.close()


def _prepare_statements(dialect):
    c = containers.c
    bind = sa.bindparam
    return {
        'select': _Prepared(
            sa.select(c.value, c.revision, c.modified_us, c.size)
            .where(c.user_id == bind('b_user_id'), c.name == bind('b_name')),
            dialect),
        'insert': _Prepared(
            sa.insert(containers).values(
                user_id=bind('b_user_id'), name=bind('b_name'),
                revision=bind('b_revision'),
                modified_us=bind('b_modified_us'), size=bind('b_size'),
                value=bind('b_value')),
            dialect),
        'update': _Prepared(   # the compare-and-swap
            sa.update(containers)
            .where(c.user_id == bind('b_user_id'), c.name == bind('b_name'),
                   c.revision == bind('b_seen_revision'))
            .values(revision=bind('b_revision'),
                    modified_us=bind('b_modified_us'), size=bind('b_size'),
                    value=bind('b_value')),
            dialect),
        'delete': _Prepared(   # the compare-and-swap, deleting
            sa.delete(containers)
            .where(c.user_id == bind('b_user_id'), c.name == bind('b_name'),
                   c.revision == bind('b_seen_revision')),
            dialect),
    }


class SQLDriver(base.StorageDriver):

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self._url = sa.engine.make_url(url)
        self._dialect = self._url.get_backend_name()
        self._is_sqlite = self._dialect == 'sqlite'
        self._timeout = conf.database.timeout
        self._schema_ready = False
        # Two pools: statements that stand alone (reads, and writes whose
        # compare-and-swap is one atomic UPDATE or INSERT) run in
        # autocommit mode, with no BEGIN, COMMIT or rollback-on-return
        # round trips; work that needs a transaction (quota accounting,
        # deleting a user, migrations) uses the transactional pool.
        if self._is_sqlite:
            self._engine = self._sqlite_engine(conf, autocommit=False)
            self._autocommit_engine = self._sqlite_engine(conf,
                                                          autocommit=True)
            # Green when eventlet has patched threading (cloudprefs-api).
            self._write_lock = threading.Lock()
        else:
            self._engine = self._server_engine(conf, autocommit=False)
            self._autocommit_engine = self._server_engine(conf,
                                                          autocommit=True)
            self._write_lock = None
        dialect = self._autocommit_engine.dialect
        self._statements = _prepare_statements(dialect)
        self._dbapi = dialect.loaded_dbapi
        self._no_answer_errors = (self._dbapi.OperationalError,
                                  self._dbapi.InterfaceError)
        # Bare connections of the autocommit pool kept between uses (see
        # _run_raw), at most as many as the pool keeps open.
        self._idle_raw = []
        self._max_idle_raw = conf.database.max_pool_size

    # Engines -----------------------------------------------------------------

    def _sqlite_engine(self, conf, autocommit):
        database = self._url.database
        if database and database != ':memory:':
            directory = os.path.dirname(os.path.abspath(database))
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as error:
                # Opening the file will fail: BackendUnavailable on use.
                LOG.error('Cannot create %s for the database: %s',
                          directory, error)
        busy_ms = conf.database.sqlite_busy_timeout_ms
        engine = sa.create_engine(
            self._url,
            connect_args={'timeout': busy_ms / 1000.0,
                          'check_same_thread': False},
            pool_timeout=conf.database.timeout,
            **({'isolation_level': 'AUTOCOMMIT',
                'pool_reset_on_return': None} if autocommit else {}))

        @sa.event.listens_for(engine, 'connect')
        def _configure(dbapi_connection, _record):
            if not autocommit:
                # pysqlite would begin only at the first INSERT/UPDATE,
                # after our SELECTs; the transaction must cover them.
                dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL lets readers run beside the one writer; FULL syncs every
            # commit so an acknowledged write survives a power loss.
            cursor.execute('PRAGMA journal_mode=WAL')
            cursor.execute('PRAGMA synchronous=FULL')
            cursor.execute('PRAGMA busy_timeout=%d' % busy_ms)
            cursor.close()

        if not autocommit:
            @sa.event.listens_for(engine, 'begin')
            def _begin(connection):
                # Take SQLite's write lock at once: a transaction that
                # reads usage and then writes cannot be overtaken by
                # another process between the two.
                connection.exec_driver_sql('BEGIN IMMEDIATE')

        return engine

    def _server_engine(self, conf, autocommit):
        db_conf = conf.database
        url = self._url
        connect_timeout = max(2, int(math.ceil(db_conf.timeout)))
        operation_timeout = db_conf.operation_timeout
        options = {}
        if self._dialect in ('mysql', 'mariadb'):
            # 4-byte characters (emoji) need utf8mb4 on the connection too;
            # devstack's URLs say charset=utf8, which is utf8mb3.
            if url.query.get('charset') != 'utf8mb4':
                if 'charset' in url.query:
                    LOG.warning('Using charset=utf8mb4 instead of %s for '
                                'the database connection',
                                url.query['charset'])
                url = url.update_query_dict({'charset': 'utf8mb4'})
            connect_args = {'connect_timeout': connect_timeout,
                            'read_timeout': int(math.ceil(operation_timeout)),
                            'write_timeout': int(math.ceil(
                                operation_timeout))}
            # Galera's recommendation; the compare-and-swap needs no more.
            options['isolation_level'] = 'READ COMMITTED'
            # Servers close idle connections (wait_timeout).
            options['pool_recycle'] = 3600
        elif self._dialect == 'postgresql':
            connect_args = {
                'connect_timeout': connect_timeout,
                'options': '-c statement_timeout=%d'
                           % int(operation_timeout * 1000),
                'keepalives': 1, 'keepalives_idle': 30,
                'keepalives_interval': 10, 'keepalives_count': 3,
            }
        else:
            connect_args = {}
        if autocommit:
            options.update(isolation_level='AUTOCOMMIT',
                           pool_reset_on_return=None)
        return sa.create_engine(
            url, pool_pre_ping=db_conf.pool_pre_ping,
            pool_size=db_conf.max_pool_size,
            max_overflow=db_conf.max_overflow, pool_timeout=db_conf.timeout,
            connect_args=connect_args, **options)

    # Running statements ------------------------------------------------------

    def _run(self, operation, *args, transaction=False):
        """Run ``operation(connection, *args)`` on a SQLAlchemy Connection
        until it succeeds.

        With ``transaction`` the connection is in a transaction that the
        operation commits; otherwise each statement commits by itself.
        """
        engine = self._engine if transaction else self._autocommit_engine

        def attempt():
            with engine.connect() as connection:
                return operation(connection, *args)
        return self._retry(attempt)

    def _run_raw(self, operation, *args):
        """Run ``operation(dbapi_connection, *args)`` on a bare DBAPI
        connection of the autocommit pool until it succeeds: the hot
        path, for statements that stand alone."""
        def attempt():
            dbapi_connection = self._checkout_raw()
            try:
                outcome = operation(dbapi_connection, *args)
            except self._dbapi.Error as error:
                if classify(error, self._no_answer_errors) == _CONNECTION:
                    # Not back into the pool: the next attempt connects.
                    # The kept ones may be as stale (a restarted server).
                    dbapi_connection.invalidate()
                    dbapi_connection.close()
                    self._release_idle_raw()
                else:
                    self._checkin_raw(dbapi_connection)
                raise
            except BaseException:
                dbapi_connection.close()
                raise
            self._checkin_raw(dbapi_connection)
            return outcome
        return self._retry(attempt)

    # SQLAlchemy's pool checkout and checkin cost about as much as a
    # primary-key SELECT on a local server; the hot path keeps its bare
    # connections checked out and reuses them. They still belong to the
    # pool: released on errors, on close(), and beyond max_pool_size.

    def _checkout_raw(self):
        try:
            return self._idle_raw.pop()
        except IndexError:
            return self._autocommit_engine.raw_connection()

    def _checkin_raw(self, dbapi_connection):
        if len(self._idle_raw) < self._max_idle_raw:
            self._idle_raw.append(dbapi_connection)
        else:
            dbapi_connection.close()

    def _release_idle_raw(self):
        idle, self._idle_raw = self._idle_raw, []
        for dbapi_connection in idle:
            dbapi_connection.close()

    def _retry(self, attempt):
        """Call ``attempt()`` until it succeeds.

        Transient and connection errors are retried until ``[database]
        timeout`` has passed since the first attempt; then, and for any
        other database error, a storage exception is raised. A stale
        pooled connection is one such error: it is dropped and the
        operation runs again on a fresh one.
        """
        deadline = time.monotonic() + self._timeout
        delay = 0.005
        while True:
            try:
                return attempt()
            except exceptions.StorageError:
                raise
            except (sa_exc.DBAPIError, self._dbapi.Error) as error:
                kind = classify(error, self._no_answer_errors)
                if kind == _PERMANENT:
                    raise exceptions.BackendError(
                        'database error') from error
                if time.monotonic() + delay >= deadline:
                    raise exceptions.BackendUnavailable(
                        'database unavailable') from error
                LOG.debug('Retrying after a %s database error: %s', kind,
                          getattr(error, 'orig', error))
            except sa_exc.TimeoutError as error:
                raise exceptions.BackendUnavailable(
                    'no database connection free in time') from error
            # A green sleep under eventlet: other requests go on.
            time.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, 0.5)

    @contextlib.contextmanager
    def _writer(self):
        if self._write_lock is None:
            yield
        else:
            with self._write_lock:
                yield

    # Schema ------------------------------------------------------------------

    def upgrade(self):
        def migrate(connection):
            sql_migration.upgrade(connection)
            connection.commit()

        if self._is_sqlite:
            # Several processes may start on one file together.
            with self._writer(), self._migration_file_lock():
                self._run(migrate, transaction=True)
        else:
            self._run(migrate, transaction=True)
        self._schema_ready = True

    @contextlib.contextmanager
    def _migration_file_lock(self):
        database = self._url.database
        if not database or database == ':memory:':
            yield
            return
        try:
            lock_file = open(os.path.abspath(database) + '.migration-lock',
                             'a')
        except OSError as error:
            raise exceptions.BackendUnavailable(
                'cannot open the database directory') from error
        with lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def schema_revision(self):
        return self._run(sql_migration.current_revision)

    def prepare(self):
        try:
            self._ensure_schema()
        except exceptions.BackendUnavailable:
            LOG.warning('The database is not reachable at start-up; its '
                        'schema will be checked when it is.')

    def _ensure_schema(self):
        if not self._schema_ready:
            self._check_revision(self.schema_revision())

    def _check_revision(self, revision):
        head = sql_migration.head_revision()
        if revision == head:
            self._schema_ready = True
        elif revision is None or revision in sql_migration.known_revisions():
            if self._is_sqlite:
                # The embedded database initializes and upgrades itself.
                self.upgrade()
                return
            raise exceptions.SchemaNotReady(
                'The database schema is %s; this version of cloudprefs needs '
                'revision %s: run "cloudprefs-manage db_sync".'
                % ('empty' if revision is None else 'at revision ' + revision,
                   head))
        else:
            LOG.warning('The database schema is at revision %s, newer than '
                        'this code knows (%s): starting anyway, as during a '
                        'rolling upgrade.', revision, head)
            self._schema_ready = True

    # Reads -------------------------------------------------------------------

    def list_containers(self, user_id, limit=None, marker=None, prefix=None):
        self._ensure_schema()
        name = containers.c.name
        query = (sa.select(name).where(containers.c.user_id == user_id)
                 .order_by(name))
        if marker is not None:
            query = query.where(name > marker)
        if prefix:
            query = query.where(name >= prefix)
            upper = base.prefix_upper_bound(prefix)
            if upper is not None:
                # Compared as raw bytes: the bound may not be valid UTF-8.
                query = query.where(name < sa.literal(upper,
                                                      sa.LargeBinary()))
        if limit is not None:
            query = query.limit(limit)
        return self._run(
            lambda connection: connection.execute(query).scalars().all())

    @staticmethod
    def _count_usage(connection, user_id):
        row = connection.execute(
            sa.select(sa.func.count(),
                      sa.func.coalesce(sa.func.sum(containers.c.size), 0))
            .where(containers.c.user_id == user_id)).first()
        return base.Usage(int(row[0]), int(row[1]))

    def usage(self, user_id):
        self._ensure_schema()
        return self._run(self._count_usage, user_id)

    def _read_row(self, dbapi_connection, user_id, name):
        row = self._statements['select'].fetch_one(
            dbapi_connection, b_user_id=user_id.encode('utf-8'),
            b_name=name.encode('utf-8'))
        return None if row is None else StoredRow(*row)

    def get_container(self, user_id, name):
        self._ensure_schema()
        row = self._run_raw(self._read_row, user_id, name)
        if row is None:
            raise exceptions.NotFound()
        if not self.enforces_quota:
            self._recent.remember(user_id, name, row.revision, row.value,
                                  row.size)
        return base.Container(json.loads(row.value), row.revision,
                              row.modified_us / 1e6)

    def export_containers(self):
        self._ensure_schema()
        columns = (containers.c.user_id, containers.c.name,
                   containers.c.value, containers.c.revision,
                   containers.c.modified_us)
        after = None
        while True:
            query = sa.select(*columns).order_by(containers.c.user_id,
                                                 containers.c.name)
            if after is not None:
                query = query.where(sa.tuple_(containers.c.user_id,
                                              containers.c.name) > after)
            rows = self._run(lambda connection: connection.execute(
                query.limit(EXPORT_BATCH)).all())
            for row in rows:
                yield row.user_id, row.name, base.Container(
                    json.loads(row.value), row.revision,
                    row.modified_us / 1e6)
            if len(rows) < EXPORT_BATCH:
                return
            after = (rows[-1].user_id, rows[-1].name)

    # Writes ------------------------------------------------------------------

    def update_container(self, user_id, name, mutate, create_missing,
                         precondition=None):
        self._ensure_schema()
        return self._update_in_turn(
            user_id, name, mutate, precondition, self._swap_seen,
            lambda: self._until_won(self._try_update, user_id, name, mutate,
                                    create_missing, precondition))

    def _swap_seen(self, user_id, name, seen_revision, revision, _value,
                   encoded):
        with self._writer():
            return self._run_raw(self._compare_and_swap, user_id, name,
                                 seen_revision, revision, encoded) == 1

    def _compare_and_swap(self, dbapi_connection, user_id, name,
                          seen_revision, revision, encoded):
        """Replace the row if it is still at ``seen_revision``; the number
        of rows changed (0 or 1)."""
        return self._statements['update'].execute(
            dbapi_connection, b_user_id=user_id.encode('utf-8'),
            b_name=name.encode('utf-8'), b_seen_revision=seen_revision,
            b_revision=revision, b_modified_us=time.time_ns() // 1000,
            b_size=encoded.size, b_value=encoded.text)

    def _until_won(self, attempt, *args):
        """Run a compare-and-swap ``attempt(dbapi_connection, transaction,
        *args)`` until it wins the race.

        Quota accounting spans two tables, so it runs in a transaction
        (``transaction`` is its SQLAlchemy Connection); without quotas
        each attempt is one SELECT and one atomic write on a bare
        autocommit connection, and ``transaction`` is None.
        """
        if self.enforces_quota:
            def in_transaction(connection):
                connection.begin()
                return attempt(connection.connection, connection, *args)

            def run_attempt():
                with self._writer():
                    return self._run(in_transaction, transaction=True)
        else:
            def run_attempt():
                with self._writer():
                    return self._run_raw(attempt, None, *args)
        return base.until_won(run_attempt)

    def _lost_race(self, transaction):
        if transaction is not None:
            transaction.rollback()
        return base.LOST_RACE

    def _try_update(self, dbapi_connection, transaction, user_id, name,
                    mutate, create_missing, precondition):
        row = self._read_row(dbapi_connection, user_id, name)
        base.check_precondition(precondition,
                                None if row is None else row.revision)
        if row is None:
            if not create_missing:
                return None
            revision = base.next_revision()
            encoded = self.encode(mutate({}))
            try:
                if transaction is not None:
                    self._reserve(transaction, user_id, 1, encoded.size)
                self._statements['insert'].execute(
                    dbapi_connection, b_user_id=user_id.encode('utf-8'),
                    b_name=name.encode('utf-8'), b_revision=revision,
                    b_modified_us=time.time_ns() // 1000,
                    b_size=encoded.size, b_value=encoded.text)
            except (sa_exc.IntegrityError, self._dbapi.IntegrityError):
                return self._lost_race(transaction)
        else:
            revision = base.next_revision(row.revision)
            encoded = self.encode(mutate(json.loads(row.value)))
            try:
                if transaction is not None:
                    self._reserve(transaction, user_id, 0,
                                  encoded.size - row.size)
            except sa_exc.IntegrityError:
                return self._lost_race(transaction)
            if self._compare_and_swap(dbapi_connection, user_id, name,
                                      row.revision, revision,
                                      encoded) != 1:
                return self._lost_race(transaction)
        if transaction is not None:
            transaction.commit()
        self._remember_written(user_id, name, revision, encoded)
        return revision

    def _reserve(self, connection, user_id, added_containers, added_bytes):
        """Add to the user's usage record inside the write's transaction.

        The row lock (SELECT ... FOR UPDATE; SQLite: the one writer) holds
        until the transaction ends, so concurrent writers of one user
        check the quota one after another. A missing record is counted
        from the containers; racing to insert it raises IntegrityError.
        Every writer takes this lock before touching a container row, so
        the two locks are always taken in the same order.
        """
        where = user_usage.c.user_id == user_id
        row = connection.execute(
            sa.select(user_usage.c.containers, user_usage.c.bytes)
            .where(where).with_for_update()).first()
        if row is None:
            usage = self._count_usage(connection, user_id)
            connection.execute(sa.insert(user_usage).values(
                user_id=user_id, containers=usage.containers,
                bytes=usage.bytes))
        else:
            usage = base.Usage(row.containers, row.bytes)
        base.check_quota(self.quota, usage, added_containers, added_bytes)
        if added_containers or added_bytes:
            connection.execute(sa.update(user_usage).where(where).values(
                containers=user_usage.c.containers + added_containers,
                bytes=user_usage.c.bytes + added_bytes))

    def delete_container(self, user_id, name, precondition=None):
        self._ensure_schema()
        self._recent.forget(user_id, name)
        if precondition is None and not self.enforces_quota:
            statement = sa.delete(containers).where(
                containers.c.user_id == user_id, containers.c.name == name)
            with self._writer():
                self._run(self._execute_and_commit, statement)
            return
        self._until_won(self._try_delete, user_id, name, precondition)

    def _try_delete(self, dbapi_connection, transaction, user_id, name,
                    precondition):
        row = self._read_row(dbapi_connection, user_id, name)
        base.check_precondition(precondition,
                                None if row is None else row.revision)
        if row is None:
            return None
        try:
            if transaction is not None:
                self._reserve(transaction, user_id, -1, -row.size)
        except sa_exc.IntegrityError:
            return self._lost_race(transaction)
        deleted = self._statements['delete'].execute(
            dbapi_connection, b_user_id=user_id.encode('utf-8'),
            b_name=name.encode('utf-8'), b_seen_revision=row.revision)
        if deleted != 1:
            return self._lost_race(transaction)
        if transaction is not None:
            transaction.commit()
        return None

    @staticmethod
    def _execute_and_commit(connection, *statements):
        for statement in statements:
            connection.execute(statement)
        connection.commit()

    def delete_user(self, user_id):
        self._ensure_schema()

        def run(connection):
            # The usage record first, as every writer locks it first.
            connection.execute(sa.select(user_usage.c.user_id).where(
                user_usage.c.user_id == user_id).with_for_update())
            self._execute_and_commit(
                connection,
                sa.delete(containers).where(containers.c.user_id == user_id),
                sa.delete(user_usage).where(user_usage.c.user_id == user_id))

        self._recent.forget_user(user_id)
        with self._writer():
            self._run(run, transaction=True)

    def forget_usage(self):
        """Drop every usage record; each is counted again from the user's
        containers by their next write that needs it."""
        self._ensure_schema()
        with self._writer():
            self._run(self._execute_and_commit, sa.delete(user_usage))

    # Lifecycle ---------------------------------------------------------------

    def ping(self):
        self._run(lambda connection: connection.execute(sa.text('SELECT 1')))

    def close(self):
        self._release_idle_raw()
        self._engine.dispose()
        self._autocommit_engine.dispose()
