"""SQL storage driver (SQLAlchemy Core).

Layout: one ``containers`` table keyed by ``(user_id, name)``; the user is
the leading part of the primary key, so every query is an index lookup or
range scan on that user alone. Names and user ids are stored as UTF-8
bytes (BLOB/BYTEA/VARBINARY): byte order of UTF-8 is code-point order,
and no collation can fold case or pad trailing spaces. The value is the
container's compact JSON text, which keeps every key and number exact on
every dialect (jsonb would refuse U+0000).

Writes are compare-and-swap on the revision: read the row, compute the new
value in Python, ``UPDATE ... WHERE revision = <read revision>`` (or
``INSERT`` for a new container) and start again if another writer got
there first. This holds across threads, green threads and processes with
no lock held between statements. SQLite under eventlet additionally
serializes this process's writers with a lock (green when eventlet has
patched ``threading``), so they never wait on SQLite's own lock inside the
C library, which would stall every request of the process.
"""

import json
import logging
import os
import random
import threading
import time

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import exc as sa_exc

from cloudprefs.storage import base
from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)

# Attempts at a compare-and-swap before giving up with BackendUnavailable;
# each lost attempt means another writer succeeded, so this is only reached
# under pathological contention.
MAX_WRITE_ATTEMPTS = 200


class UTF8Bytes(sa.types.TypeDecorator):
    """A ``str`` stored as its UTF-8 bytes, compared byte by byte."""

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ('mysql', 'mariadb'):
            return dialect.type_descriptor(mysql.VARBINARY(255))
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value, dialect):
        return None if value is None else value.encode('utf-8')

    def process_result_value(self, value, dialect):
        return None if value is None else bytes(value).decode('utf-8')


JSON_TEXT = sa.Text().with_variant(
    mysql.LONGTEXT(charset='utf8mb4', collation='utf8mb4_bin'),
    'mysql', 'mariadb')

metadata = sa.MetaData()

containers = sa.Table(
    'containers', metadata,
    sa.Column('user_id', UTF8Bytes(), primary_key=True),
    sa.Column('name', UTF8Bytes(), primary_key=True),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('modified_us', sa.BigInteger(), nullable=False),
    sa.Column('value', JSON_TEXT, nullable=False),
    mysql_engine='InnoDB',
    mysql_charset='utf8mb4',
)


def _is_sqlite_busy(error):
    return (isinstance(error, sa_exc.OperationalError)
            and 'database is locked' in str(error.orig))


class SQLDriver(base.StorageDriver):

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self._url = sa.engine.make_url(url)
        self._is_sqlite = self._url.get_backend_name() == 'sqlite'
        self._timeout = conf.database.timeout
        if self._is_sqlite:
            self._engine = self._sqlite_engine(conf)
            # Green when eventlet has patched threading (cloudprefs-api).
            self._write_lock = threading.Lock()
            self._sqlite_schema_ready = False
        else:
            self._engine = sa.create_engine(
                self._url, pool_pre_ping=True,
                pool_timeout=conf.database.timeout)
            self._write_lock = None

    def _sqlite_engine(self, conf):
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
            pool_timeout=conf.database.timeout)

        @sa.event.listens_for(engine, 'connect')
        def _configure(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets readers run beside the one writer; FULL syncs every
            # commit so an acknowledged write survives a power loss.
            cursor.execute('PRAGMA journal_mode=WAL')
            cursor.execute('PRAGMA synchronous=FULL')
            cursor.execute('PRAGMA busy_timeout=%d' % busy_ms)
            cursor.close()

        return engine

    # Error translation -----------------------------------------------------

    def _run(self, operation, *args):
        """Run ``operation(connection, *args)``; map driver errors."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                with self._engine.connect() as connection:
                    return operation(connection, *args)
            except exceptions.StorageError:
                raise
            except sa_exc.DBAPIError as error:
                if _is_sqlite_busy(error) and time.monotonic() < deadline:
                    # Another process holds SQLite's write lock: back off
                    # in Python (a green sleep under eventlet).
                    time.sleep(random.uniform(0.001, 0.01))
                    continue
                if (error.connection_invalidated
                        or isinstance(error, (sa_exc.OperationalError,
                                              sa_exc.InterfaceError))):
                    raise exceptions.BackendUnavailable(
                        'database unavailable') from error
                raise exceptions.BackendError('database error') from error
            except sa_exc.TimeoutError as error:
                raise exceptions.BackendUnavailable(
                    'no database connection free in time') from error

    # Schema ------------------------------------------------------------------

    def upgrade(self):
        self._run(lambda connection: (metadata.create_all(connection),
                                      connection.commit()))

    def prepare(self):
        try:
            self._ensure_embedded_schema()
        except exceptions.BackendUnavailable:
            LOG.warning('The database is not reachable at start-up.')

    def _ensure_embedded_schema(self):
        # The embedded SQLite database creates its schema by itself on
        # first use; server databases are upgraded by cloudprefs-manage.
        # IF NOT EXISTS because several processes may start together.
        if self._is_sqlite and not self._sqlite_schema_ready:
            with self._write_lock:
                if not self._sqlite_schema_ready:
                    self._run(self._create_tables_if_missing)
                    self._sqlite_schema_ready = True

    @staticmethod
    def _create_tables_if_missing(connection):
        for table in metadata.sorted_tables:
            connection.execute(sa.schema.CreateTable(table,
                                                     if_not_exists=True))
        connection.commit()

    # Reads -------------------------------------------------------------------

    def list_containers(self, user_id):
        self._ensure_embedded_schema()
        query = (sa.select(containers.c.name)
                 .where(containers.c.user_id == user_id)
                 .order_by(containers.c.name))
        return self._run(
            lambda connection: connection.execute(query).scalars().all())

    def _select_row(self, connection, user_id, name):
        query = (sa.select(containers.c.value, containers.c.revision,
                           containers.c.modified_us)
                 .where(containers.c.user_id == user_id,
                        containers.c.name == name))
        return connection.execute(query).first()

    def get_container(self, user_id, name):
        self._ensure_embedded_schema()
        row = self._run(self._select_row, user_id, name)
        if row is None:
            raise exceptions.NotFound()
        return base.Container(json.loads(row.value), row.revision,
                              row.modified_us / 1e6)

    # Writes ------------------------------------------------------------------

    def update_container(self, user_id, name, mutate, create_missing):
        self._ensure_embedded_schema()
        for _attempt in range(MAX_WRITE_ATTEMPTS):
            if self._write_lock is not None:
                with self._write_lock:
                    outcome = self._run(self._try_update, user_id, name,
                                        mutate, create_missing)
            else:
                outcome = self._run(self._try_update, user_id, name, mutate,
                                    create_missing)
            if outcome is not _LOST_RACE:
                return outcome
            # Another writer changed the row between our read and write.
            time.sleep(random.uniform(0, 0.002))
        raise exceptions.BackendUnavailable(
            'gave up after %d conflicting writes' % MAX_WRITE_ATTEMPTS)

    def _try_update(self, connection, user_id, name, mutate, create_missing):
        row = self._select_row(connection, user_id, name)
        now_us = time.time_ns() // 1000
        if row is None:
            if not create_missing:
                return None
            revision = base.next_revision()
            text = self.encode(mutate({}))
            statement = sa.insert(containers).values(
                user_id=user_id, name=name, revision=revision,
                modified_us=now_us, value=text)
            try:
                connection.execute(statement)
                connection.commit()
            except sa_exc.IntegrityError:
                connection.rollback()
                return _LOST_RACE
            return revision
        revision = base.next_revision(row.revision)
        text = self.encode(mutate(json.loads(row.value)))
        statement = (sa.update(containers)
                     .where(containers.c.user_id == user_id,
                            containers.c.name == name,
                            containers.c.revision == row.revision)
                     .values(revision=revision, modified_us=now_us,
                             value=text))
        result = connection.execute(statement)
        connection.commit()
        return revision if result.rowcount == 1 else _LOST_RACE

    def _delete(self, *conditions):
        self._ensure_embedded_schema()
        statement = sa.delete(containers).where(*conditions)

        def run(connection):
            connection.execute(statement)
            connection.commit()

        if self._write_lock is not None:
            with self._write_lock:
                self._run(run)
        else:
            self._run(run)

    def delete_container(self, user_id, name):
        self._delete(containers.c.user_id == user_id,
                     containers.c.name == name)

    def delete_user(self, user_id):
        self._delete(containers.c.user_id == user_id)

    # Lifecycle ---------------------------------------------------------------

    def ping(self):
        self._run(lambda connection: connection.execute(sa.text('SELECT 1')))

    def close(self):
        self._engine.dispose()


_LOST_RACE = object()
