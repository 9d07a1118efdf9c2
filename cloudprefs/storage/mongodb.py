"""MongoDB storage driver (pymongo).

Layout: one ``containers`` collection for every user, one document per
(user, container)::

    {u: <user id>, c: <container name>, r: <revision>, m: <modified, µs>,
     s: <size in bytes of compact JSON>, d: <the object, keys escaped>}

A unique index on ``(u, c)`` serves every query, so a user's queries never
touch another user's documents, and a cluster can shard on ``u`` (the
unique index is prefixed by that shard key).

MongoDB refuses U+0000 in field names and cannot address keys containing
``.`` or starting with ``$`` in update paths, so every key of ``d`` is
stored escaped (see :func:`escape_key`); stored documents stay readable
with ordinary MongoDB tools.

Writes are compare-and-swap on the revision, like the SQL driver: read the
document, compute the new value, replace ``d`` only if ``r`` is unchanged
(or insert, relying on the unique index), and start again if another
writer won.
"""

import contextlib
import logging
import re
import time

import pymongo
from pymongo import errors as mongo_errors
from pymongo import write_concern

from cloudprefs.storage import base
from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)

DEFAULT_DATABASE = 'cloudprefs'
COLLECTION = 'containers'
USAGE_COLLECTION = 'usage'

# Escapes: '%' itself first so that every '%' in a stored key starts an
# escape; '.' and U+0000 anywhere; '$' only in first place (MongoDB's rule).
# The empty key is stored as a lone '%', which no other key can produce.
_NEEDS_ESCAPE = re.compile(r'[%.\x00]|^\$')
_ESCAPES = {'%': '%25', '.': '%2E', '\x00': '%00', '$': '%24'}
_ESCAPED = re.compile(r'%(25|2E|00|24)')
_UNESCAPES = {'25': '%', '2E': '.', '00': '\x00', '24': '$'}


def escape_key(key):
    if key == '':
        return '%'
    if not _NEEDS_ESCAPE.search(key):
        return key
    return _NEEDS_ESCAPE.sub(lambda match: _ESCAPES[match.group()], key)


def unescape_key(key):
    if key == '%':
        return ''
    if '%' not in key:
        return key
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group(1)], key)


def escape_value(value):
    if isinstance(value, dict):
        return {escape_key(k): escape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_value(item) for item in value]
    return value


def unescape_value(value):
    if isinstance(value, dict):
        return {unescape_key(k): unescape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape_value(item) for item in value]
    return value


_UNAVAILABLE = (mongo_errors.ConnectionFailure,  # incl. AutoReconnect,
                mongo_errors.ServerSelectionTimeoutError,  # NetworkTimeout
                mongo_errors.ExecutionTimeout,
                mongo_errors.WTimeoutError)


def _replacement(revision, modified_us, value, encoded):
    """The update that makes a container document hold ``value``."""
    return {'$set': {'r': revision, 'm': modified_us, 's': encoded.size,
                     'd': escape_value(value)}}


class _Reservation:
    kept = False

    def keep(self):
        self.kept = True


class MongoDBDriver(base.StorageDriver):

    def __init__(self, url, conf):
        super().__init__(url, conf)
        db_conf = conf.database
        timeout_ms = int(db_conf.timeout * 1000)
        w = db_conf.mongodb_write_concern
        self._client = pymongo.MongoClient(
            url,
            appname='cloudprefs',
            connect=False,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            waitQueueTimeoutMS=timeout_ms,
            socketTimeoutMS=int(db_conf.operation_timeout * 1000),
            maxPoolSize=db_conf.mongodb_max_pool_size)
        database = self._client.get_default_database(DEFAULT_DATABASE)
        concern = write_concern.WriteConcern(w=int(w) if w.isdigit() else w)
        self._collection = database.get_collection(COLLECTION,
                                                   write_concern=concern)
        # {_id: user id, n: containers, b: bytes}; kept only for quotas.
        self._usage = database.get_collection(USAGE_COLLECTION,
                                              write_concern=concern)
        self._indexes_ready = False

    def _run(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise exceptions.BackendUnavailable(
                'database unavailable') from error
        except mongo_errors.DocumentTooLarge as error:
            raise exceptions.TooLarge(-1, self.max_container_size) from error
        except mongo_errors.PyMongoError as error:
            if getattr(error, 'code', None) == 10334:   # BSONObjectTooLarge
                raise exceptions.TooLarge(
                    -1, self.max_container_size) from error
            raise exceptions.BackendError('database error') from error

    # Schema ------------------------------------------------------------------

    def upgrade(self):
        self._run(self._collection.create_index,
                  [('u', pymongo.ASCENDING), ('c', pymongo.ASCENDING)],
                  unique=True, name='user_container')
        self._indexes_ready = True

    def prepare(self):
        try:
            self.upgrade()
        except exceptions.BackendUnavailable:
            LOG.warning('MongoDB is not reachable at start-up; indexes will '
                        'be made on the first write.')

    def _ensure_indexes(self):
        # Index creation is idempotent; doing it on first use means a new
        # deployment cannot run without the unique index the writes rely on.
        if not self._indexes_ready:
            self.upgrade()

    # Reads -------------------------------------------------------------------

    def list_containers(self, user_id, limit=None, marker=None, prefix=None):
        name_filter = {}
        if marker is not None:
            name_filter['$gt'] = marker
        if prefix:
            # An anchored regex on an indexed field is a range scan.
            name_filter['$regex'] = '^' + re.escape(prefix)
        query = {'u': user_id}
        if name_filter:
            query['c'] = name_filter
        cursor = self._collection.find(
            query, {'_id': 0, 'c': 1}).sort('c', pymongo.ASCENDING)
        if limit is not None:
            cursor = cursor.limit(limit)
        return self._run(lambda: [doc['c'] for doc in cursor])

    def _count_usage(self, user_id):
        totals = list(self._collection.aggregate([
            {'$match': {'u': user_id}},
            {'$group': {'_id': None, 'n': {'$sum': 1},
                        'b': {'$sum': '$s'}}}]))
        if not totals:
            return base.Usage(0, 0)
        return base.Usage(int(totals[0]['n']), int(totals[0]['b']))

    def usage(self, user_id):
        return self._run(self._count_usage, user_id)

    def get_container(self, user_id, name):
        doc = self._run(self._collection.find_one,
                        {'u': user_id, 'c': name},
                        {'_id': 0, 'd': 1, 'r': 1, 'm': 1})
        if doc is None:
            raise exceptions.NotFound()
        return base.Container(unescape_value(doc['d']), doc['r'],
                              doc['m'] / 1e6)

    # Writes ------------------------------------------------------------------

    def update_container(self, user_id, name, mutate, create_missing,
                         precondition=None):
        self._ensure_indexes()
        return self._update_in_turn(
            user_id, name, mutate, precondition, self._swap_seen,
            lambda: self._until_won(self._try_update, user_id, name, mutate,
                                    create_missing, precondition))

    def _swap_seen(self, user_id, name, seen_revision, revision, value,
                   encoded):
        return self._run(
            self._collection.update_one,
            {'u': user_id, 'c': name, 'r': seen_revision},
            _replacement(revision, time.time_ns() // 1000, value, encoded)
        ).matched_count == 1

    def _until_won(self, attempt, *args):
        """Run a compare-and-swap ``attempt`` until it wins the race."""
        return base.until_won(lambda: self._run(attempt, *args))

    def _try_update(self, user_id, name, mutate, create_missing,
                    precondition):
        key = {'u': user_id, 'c': name}
        doc = self._collection.find_one(key, {'_id': 0, 'd': 1, 'r': 1,
                                              's': 1})
        base.check_precondition(precondition, doc and doc['r'])
        now_us = time.time_ns() // 1000
        if doc is None:
            if not create_missing:
                return None
            value = mutate({})
            encoded = self.encode(value)
            revision = base.next_revision()
            with self._reservation(user_id, 1, encoded.size) as reservation:
                try:
                    self._collection.insert_one(
                        dict(key, r=revision, m=now_us, s=encoded.size,
                             d=escape_value(value)))
                except mongo_errors.DuplicateKeyError:
                    return base.LOST_RACE
                reservation.keep()
            self._remember_written(user_id, name, revision, encoded)
            return revision
        value = mutate(unescape_value(doc['d']))
        encoded = self.encode(value)
        revision = base.next_revision(doc['r'])
        with self._reservation(user_id, 0,
                               encoded.size - doc.get('s', 0)) as reservation:
            result = self._collection.update_one(
                dict(key, r=doc['r']),
                _replacement(revision, now_us, value, encoded))
            if result.matched_count != 1:
                return base.LOST_RACE
            reservation.keep()
        self._remember_written(user_id, name, revision, encoded)
        return revision

    @contextlib.contextmanager
    def _reservation(self, user_id, added_containers, added_bytes):
        """Reserve quota before a write, give it back unless kept.

        MongoDB without transactions cannot change two documents
        atomically: the guarded ``$inc`` on the usage document takes the
        quota first, so concurrent writers can never pass it together. A
        process dying between the two steps leaves usage counted too high
        (never too low); ``cloudprefs-manage usage_sync`` recounts it.
        """
        reservation = _Reservation()
        if not self.enforces_quota:
            reservation.keep()
            yield reservation
            return
        self._reserve(user_id, added_containers, added_bytes)
        try:
            yield reservation
        finally:
            if not reservation.kept:
                self._run(self._usage.update_one, {'_id': user_id},
                          {'$inc': {'n': -added_containers,
                                    'b': -added_bytes}})

    def _reserve(self, user_id, added_containers, added_bytes):
        guard = {'_id': user_id}
        if added_containers > 0 and self.quota.containers is not None:
            guard['n'] = {'$lte': self.quota.containers - added_containers}
        if added_bytes > 0 and self.quota.bytes is not None:
            guard['b'] = {'$lte': self.quota.bytes - added_bytes}
        increment = {'$inc': {'n': added_containers, 'b': added_bytes}}
        for _attempt in range(2):
            if self._usage.update_one(guard, increment).matched_count:
                return
            record = self._usage.find_one({'_id': user_id})
            if record is not None:
                base.check_quota(self.quota,
                                 base.Usage(record['n'], record['b']),
                                 added_containers, added_bytes)
                continue    # the record changed under us: try once more
            usage = self._count_usage(user_id)
            try:
                self._usage.insert_one({'_id': user_id,
                                        'n': usage.containers,
                                        'b': usage.bytes})
            except mongo_errors.DuplicateKeyError:
                pass
        record = self._usage.find_one({'_id': user_id})
        base.check_quota(self.quota, base.Usage(record['n'], record['b']),
                         added_containers, added_bytes)
        raise exceptions.BackendUnavailable('usage record kept changing')

    def export_containers(self):
        cursor = self._collection.find(
            {}, {'_id': 0, 'u': 1, 'c': 1, 'd': 1, 'r': 1, 'm': 1},
            batch_size=500).sort([('u', pymongo.ASCENDING),
                                  ('c', pymongo.ASCENDING)])
        iterator = iter(cursor)
        while True:
            doc = self._run(next, iterator, None)
            if doc is None:
                return
            yield doc['u'], doc['c'], base.Container(
                unescape_value(doc['d']), doc['r'], doc['m'] / 1e6)

    def delete_container(self, user_id, name, precondition=None):
        self._recent.forget(user_id, name)
        if precondition is None and not self.enforces_quota:
            self._run(self._collection.delete_one, {'u': user_id, 'c': name})
            return
        self._until_won(self._try_delete, user_id, name, precondition)

    def _try_delete(self, user_id, name, precondition):
        key = {'u': user_id, 'c': name}
        doc = self._collection.find_one(key, {'_id': 0, 'r': 1, 's': 1})
        base.check_precondition(precondition, doc and doc['r'])
        if doc is None:
            return None
        with self._reservation(user_id, -1,
                               -doc.get('s', 0)) as reservation:
            if not self._collection.delete_one(
                    dict(key, r=doc['r'])).deleted_count:
                return base.LOST_RACE
            reservation.keep()
        return None

    def delete_user(self, user_id):
        self._recent.forget_user(user_id)
        self._run(self._collection.delete_many, {'u': user_id})
        self._run(self._usage.delete_one, {'_id': user_id})

    def forget_usage(self):
        self._run(self._usage.delete_many, {})

    # Lifecycle ---------------------------------------------------------------

    def ping(self):
        self._run(self._client.admin.command, 'ping')

    def close(self):
        self._client.close()
