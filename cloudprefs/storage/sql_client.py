"""The SQL driver's connection to its database: engines, errors, turns.

One SQLAlchemy engine per driver, in autocommit mode: a statement that
stands alone (a read, a compare-and-swap UPDATE) commits by itself, with
no BEGIN, COMMIT or rollback-on-return round trips; work that needs a
transaction says BEGIN itself (:meth:`SQLClient.transaction`). Every
connection is checked out of the engine's pool and given back at once, so
``pool_pre_ping``, ``pool_recycle``, ``max_pool_size`` and
``max_overflow`` always hold. Database errors leave here as storage
exceptions: TransientError (worth another attempt), BackendUnavailable
(no pooled connection in time) or BackendError.

On SQLite this process's writers also take turns
(:meth:`SQLClient.writer`), so they never wait for SQLite's own lock
inside the C library (under cloudprefs-api that wait would stall every
request of the process); SQLite's busy timeout is kept short and a
writer of another process is waited for by the retry policy.
"""

import contextlib
import fcntl
import logging
import math
import os
import threading

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from cloudprefs.storage import exceptions
from cloudprefs.storage import fair
from cloudprefs.storage import retry

LOG = logging.getLogger(__name__)

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

TRANSIENT, CONNECTION, PERMANENT = 'transient', 'connection', 'permanent'


def classify(error, dbapi_errors=()):
    """Sort a database error into transient, connection or permanent.

    ``error`` is SQLAlchemy's DBAPIError, or the DBAPI's own exception
    from a statement run on a bare DBAPI connection; ``dbapi_errors``
    are then the DBAPI's OperationalError and InterfaceError classes.
    """
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return CONNECTION
        orig = error.orig
        no_server_answer = isinstance(
            error, (sa_exc.OperationalError, sa_exc.InterfaceError))
    else:
        orig = error
        no_server_answer = isinstance(error, dbapi_errors)
    pgcode = getattr(orig, 'pgcode', None)
    if pgcode:
        if pgcode in _PG_TRANSIENT:
            return TRANSIENT
        if pgcode.startswith(_PG_CONNECTION_PREFIXES):
            return CONNECTION
        return PERMANENT
    code = orig.args[0] if getattr(orig, 'args', None) else None
    if isinstance(code, int):
        if code in _MYSQL_TRANSIENT:
            return TRANSIENT
        if code in _MYSQL_CONNECTION:
            return CONNECTION
    if 'database is locked' in str(orig):   # SQLite, another process
        return TRANSIENT
    if no_server_answer:
        # No code: the client library could not reach the server at all.
        return CONNECTION
    return PERMANENT


def _create_private_file(path):
    """Make the embedded database's directory (0700) and file (0600) if
    they do not exist, for this user alone: SQLite would create the file
    with the umask's permissions (often 0644, readable by every local
    user), and its -wal and -shm files take the database file's."""
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        # O_EXCL: never open (and close) an existing database file. POSIX
        # drops every lock a process holds on a file when it closes any
        # descriptor of it, so closing one under this process's open
        # SQLite connections released their locks; another process then
        # took itself for the last user, checkpointed and deleted the
        # WAL file, and this process's later commits went to a deleted
        # file (lost, and "disk I/O error" for other readers).
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                         0o600))
    except FileExistsError:
        pass
    except OSError as error:
        # Opening the database will fail: BackendUnavailable on use.
        LOG.error('Cannot create the database file %s: %s', path, error)


class SQLClient:
    """The engine of one database URL, and how statements run on it.

    :param url: a SQLAlchemy URL (``sqlite:///``, ``mysql+pymysql://``,
        ``postgresql+psycopg2://``).
    :param conf: the loaded configuration (``[database]`` options).
    """

    def __init__(self, url, conf):
        self.url = sa.engine.make_url(url)
        self.dialect = self.url.get_backend_name()
        self.is_sqlite = self.dialect == 'sqlite'
        self._conf = conf
        self.engine = self._make_engine(conf, for_migrations=False)
        # Turns at the pool: at most as many holders as it has connections,
        # so the pool itself never makes anyone wait, and waiters are
        # served in turn (see fair.FairSemaphore).
        self._turns = fair.FairSemaphore(conf.database.max_pool_size
                                         + conf.database.max_overflow)
        self._wait_timeout = conf.database.timeout
        # Reentrant: a writer may find the embedded schema to upgrade.
        self._write_lock = threading.RLock() if self.is_sqlite else None
        self.dbapi = self.engine.dialect.loaded_dbapi
        self.integrity_errors = (sa_exc.IntegrityError,
                                 self.dbapi.IntegrityError)
        self._no_answer_errors = (self.dbapi.OperationalError,
                                  self.dbapi.InterfaceError)

    # Engines per dialect -------------------------------------------------

    def _make_engine(self, conf, for_migrations):
        """The pooled autocommit engine, or a pool-less transactional one
        for schema migrations (alembic runs each in a transaction)."""
        if for_migrations:
            options = {'poolclass': sa.pool.NullPool}
        else:
            options = {'isolation_level': 'AUTOCOMMIT',
                       'pool_reset_on_return': None,
                       'pool_timeout': conf.database.timeout}
        if self.is_sqlite:
            return self._sqlite_engine(conf, options, for_migrations)
        return self._server_engine(conf, options, for_migrations)

    def _sqlite_engine(self, conf, options, for_migrations):
        database = self.url.database
        if database and database != ':memory:':
            _create_private_file(os.path.abspath(database))
        busy_ms = conf.database.sqlite_busy_timeout_ms
        engine = sa.create_engine(
            self.url,
            connect_args={'timeout': busy_ms / 1000.0,
                          'check_same_thread': False}, **options)

        @sa.event.listens_for(engine, 'connect')
        def _configure(dbapi_connection, _record):
            # No implicit transactions: pysqlite would begin only at the
            # first write, after a transaction's reads; BEGIN IMMEDIATE is
            # said explicitly instead.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL lets readers run beside the one writer; FULL syncs every
            # commit so an acknowledged write survives a power loss.
            cursor.execute('PRAGMA journal_mode=WAL')
            cursor.execute('PRAGMA synchronous=FULL')
            cursor.execute('PRAGMA busy_timeout=%d' % busy_ms)
            cursor.close()

        if for_migrations:
            @sa.event.listens_for(engine, 'begin')
            def _begin(connection):
                connection.exec_driver_sql('BEGIN IMMEDIATE')

        return engine

    def _server_engine(self, conf, options, for_migrations):
        db_conf = conf.database
        url = self.url
        connect_timeout = max(2, int(math.ceil(db_conf.timeout)))
        operation_timeout = db_conf.operation_timeout
        if self.dialect in ('mysql', 'mariadb'):
            # 4-byte characters (emoji) need utf8mb4 on the connection too;
            # devstack's URLs say charset=utf8, which is utf8mb3.
            if url.query.get('charset') != 'utf8mb4':
                if 'charset' in url.query:
                    LOG.warning('Using charset=utf8mb4 instead of %s for '
                                'the database connection',
                                url.query['charset'])
                url = url.update_query_dict({'charset': 'utf8mb4'})
            connect_args = {
                'connect_timeout': connect_timeout,
                # Galera's recommendation; the compare-and-swap needs no
                # more. Set here: the engine's own level is AUTOCOMMIT.
                'init_command': 'SET SESSION TRANSACTION ISOLATION LEVEL '
                                'READ COMMITTED'}
            if not for_migrations:  # a migration may take its time
                seconds = int(math.ceil(operation_timeout))
                connect_args.update(read_timeout=seconds,
                                    write_timeout=seconds)
            # Servers close idle connections (wait_timeout).
            if not for_migrations:
                options['pool_recycle'] = 3600
        elif self.dialect == 'postgresql':
            connect_args = {
                'connect_timeout': connect_timeout,
                'keepalives': 1, 'keepalives_idle': 30,
                'keepalives_interval': 10, 'keepalives_count': 3,
            }
            if not for_migrations:  # a migration may take its time
                connect_args['options'] = ('-c statement_timeout=%d'
                                           % int(operation_timeout * 1000))
        else:
            connect_args = {}
        if not for_migrations:
            options.update(
                pool_pre_ping=db_conf.pool_pre_ping,
                pool_size=db_conf.max_pool_size,
                max_overflow=db_conf.max_overflow,
                # The most recently used connection first: the others stay
                # idle, so pool_recycle and the server's timeouts see them.
                pool_use_lifo=True)
        engine = sa.create_engine(url, connect_args=connect_args, **options)
        if not for_migrations:
            self._cap_connecting(engine, connect_timeout)
        return engine

    def _cap_connecting(self, engine, connect_timeout):
        """Connect within what is left of the operation's deadline, not a
        whole ``[database] timeout`` after it. libpq takes whole seconds
        and no fewer than 2: with less left, an attempt after a failed
        one (the server may be down, and a connection hang) is not made;
        a first one is, for 2 s (a connection usually takes
        milliseconds)."""
        whole_seconds = self.dialect == 'postgresql'
        shortest = 2 if whole_seconds else 0.1

        @sa.event.listens_for(engine, 'do_connect')
        def _connect(_dialect, _record, _cargs, cparams):
            left = retry.time_left()
            if left is None or left >= connect_timeout:
                return None
            if left < shortest:
                if retry.retrying():
                    raise exceptions.BackendUnavailable(
                        'no time left to connect to the database')
                left = shortest
            cparams['connect_timeout'] = int(left) if whole_seconds else left
            return None     # SQLAlchemy connects with these parameters

    # Running statements --------------------------------------------------

    @contextlib.contextmanager
    def translated_errors(self):
        """Turn database and pool errors into storage exceptions."""
        try:
            yield
        except exceptions.StorageError:
            raise
        except (sa_exc.DBAPIError, self.dbapi.Error) as error:
            kind = classify(error, self._no_answer_errors)
            if kind == PERMANENT:
                raise exceptions.BackendError('database error') from error
            raise exceptions.TransientError(kind) from error
        except sa_exc.TimeoutError as error:
            raise exceptions.BackendUnavailable(
                'no database connection free in time') from error

    @contextlib.contextmanager
    def _turn_at_the_pool(self):
        if self.is_sqlite:     # its pool is not sized by the options
            yield
            return
        # Never past the operation's deadline.
        wait = min(self._wait_timeout, retry.time_left(self._wait_timeout))
        if not self._turns.acquire(timeout=wait):
            raise exceptions.BackendUnavailable(
                'no database connection free in time')
        try:
            yield
        finally:
            self._turns.release()

    @contextlib.contextmanager
    def raw(self):
        """A bare DBAPI connection of the pool, for compiled statements
        (see :class:`cloudprefs.storage.sql.Compiled`); given back to the
        pool afterwards, or dropped after a connection error."""
        with self._turn_at_the_pool(), self.translated_errors():
            dbapi_connection = self.engine.raw_connection()
            try:
                yield dbapi_connection
            except self.dbapi.Error as error:
                if classify(error, self._no_answer_errors) == CONNECTION:
                    dbapi_connection.invalidate()
                raise
            finally:
                dbapi_connection.close()    # back to the pool

    @contextlib.contextmanager
    def transaction(self):
        """A bare DBAPI connection inside a transaction, committed when
        the block ends, rolled back if it raises. On SQLite the
        transaction takes the write lock at once (BEGIN IMMEDIATE), so
        that what it reads cannot change before it writes."""
        with self.raw() as dbapi_connection:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute('BEGIN IMMEDIATE' if self.is_sqlite
                               else 'BEGIN')
                try:
                    yield dbapi_connection
                except BaseException:
                    try:
                        cursor.execute('ROLLBACK')
                    except self.dbapi.Error:
                        dbapi_connection.invalidate()
                    raise
                cursor.execute('COMMIT')
            finally:
                cursor.close()

    @contextlib.contextmanager
    def connection(self):
        """A SQLAlchemy Connection (autocommit) for Core statements."""
        with self._turn_at_the_pool(), self.translated_errors(), \
                self.engine.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def migration_connection(self):
        """A SQLAlchemy Connection for alembic, outside the pool, that
        other processes' migrations wait for (see :meth:`migration_lock`).
        """
        engine = self._make_engine(self._conf, for_migrations=True)
        try:
            with self.translated_errors(), self.writer(), \
                    self.migration_lock(), engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def writer(self):
        """This process's turn to write (SQLite only; elsewhere free)."""
        if self._write_lock is None:
            yield
        else:
            with self._write_lock:
                yield

    @contextlib.contextmanager
    def migration_lock(self):
        """Keep other processes out of a schema upgrade (SQLite: several
        processes may start on one new file together)."""
        database = self.url.database
        if not self.is_sqlite or not database or database == ':memory:':
            yield
            return
        try:
            lock_file = os.fdopen(os.open(
                os.path.abspath(database) + '.migration-lock',
                os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600), 'a')
        except OSError as error:
            raise exceptions.BackendUnavailable(
                'cannot open the database directory') from error
        with lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def close(self):
        self.engine.dispose()
