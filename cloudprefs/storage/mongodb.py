"""MongoDB storage driver (pymongo).

Layout: one ``containers`` collection for every user, one document per
(user, container)::

    {u: <user id>, c: <container name>, r: <revision>, m: <modified, µs>,
     s: <size in bytes of compact JSON>, d: <the object, keys escaped>,
     q: <feed position, null while being given>, w: <id of the write>}

A deleted container stays as a tombstone, ``{u, c, x: true, m, q, w}``,
until ``[changes] retention`` has passed; every read skips tombstones.

A unique index on ``(u, c)`` serves every query, so a user's queries never
touch another user's documents, and a cluster can shard on ``u`` (the
unique index is prefixed by that shard key). Keys are escaped
(:mod:`cloudprefs.storage.mongodb_keys`) so that stored documents stay
readable with ordinary MongoDB tools and a path read is a projection.

The compare-and-swap is ``update_one({u, c, r: <read revision>}, ...)``
(or ``insert_one``, relying on the unique index). pymongo's own retries
are off: the base driver's retry policy is the only one.

The change feed, without transactions: a write's compare-and-swap stores
the new state with ``q: null`` (its position still to come) and a fresh
write id ``w``; the writer then takes the next position from the user's
counter document (``feeds``: ``{_id: user, q: last position, e: newest
dropped tombstone}``, ``$inc``) and stamps it on the document, if the
document is still that write's and still unstamped. A reader of the feed
first reads the counter (S), then gives every still-unstamped document of
the user a new position itself (beyond S: a writer whose stamp then
fails simply lost to it), and returns the documents stamped in (cursor,
S]. So any position at or below S is either stamped before the reader
looks, or never stamped at all: a change is never stamped behind a cursor
already handed out, and a write that dies between its two steps is
stamped by the next reader.
"""

import contextlib
import logging
import re
import time

import bson
import pymongo
from pymongo import errors as mongo_errors
from pymongo import write_concern

from cloudprefs.storage import base
from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import heavy_work
from cloudprefs.storage import records
from cloudprefs.storage import retry
from cloudprefs.storage.mongodb_keys import escape_key
from cloudprefs.storage.mongodb_keys import escape_value
from cloudprefs.storage.mongodb_keys import unescape_value

LOG = logging.getLogger(__name__)

DEFAULT_DATABASE = 'cloudprefs'
COLLECTION = 'containers'
USAGE_COLLECTION = 'usage'
FEEDS_COLLECTION = 'feeds'
# Live containers: every read and compare-and-swap skips tombstones.
LIVE = {'$ne': True}

# Server error codes worth another attempt: a primary stepping down or
# going away, a node shutting down, a write conflict, network trouble seen
# by the server (mongod's own error_codes.yml).
_TRANSIENT_CODES = {
    6,      # HostUnreachable
    7,      # HostNotFound
    89,     # NetworkTimeout
    91,     # ShutdownInProgress
    112,    # WriteConflict
    189,    # PrimarySteppedDown
    262,    # ExceededTimeLimit
    9001,   # SocketException
    10107,  # NotWritablePrimary
    11600,  # InterruptedAtShutdown
    11602,  # InterruptedDueToReplStateChange
    13435,  # NotPrimaryNoSecondaryOk
    13436,  # NotPrimaryOrSecondary
}
_TOO_LARGE_CODES = {10334, 17419, 17420}    # BSONObjectTooLarge and kin


def _is_transient(error):
    if isinstance(error, (mongo_errors.ConnectionFailure,  # AutoReconnect,
                          mongo_errors.ExecutionTimeout,   # NotPrimary...
                          mongo_errors.WTimeoutError)):
        return True
    if getattr(error, 'code', None) in _TRANSIENT_CODES:
        return True
    return any(error.has_error_label(label) for label in (
        'RetryableWriteError', 'TransientTransactionError'))


def _stored(doc):
    """The Stored record of a container document."""
    size = doc.get('s')
    with heavy_work.turns.step(size or 0):
        text = document.compact_json(unescape_value(doc['d']))
    if size is None:    # written before sizes were kept
        size = document.encoded_size(text)
    return records.Stored(doc['r'], doc['m'], size, text, doc.get('e'))


def _meta(doc):
    """The Meta record of a container document read with its size."""
    return records.Meta(doc['r'], doc['m'], doc['s'], doc.get('e'))


def _with_expiry(update, expires_at):
    """``update`` setting the container's ``e``, or removing it: only
    containers that expire have one, so the sparse ``expiry`` index holds
    those alone."""
    if expires_at is None:
        update['$unset'] = {'e': ''}
    else:
        update['$set']['e'] = expires_at
    return update


def _live(now):
    """The filter of containers not expired at ``now`` (a missing or
    null ``e``: never)."""
    return {'$or': [{'e': None}, {'e': {'$gt': now}}]}


def _escaped(new):
    """The stored form of a Replacement's value."""
    with heavy_work.turns.step(new.size):
        return escape_value(new.value)


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
            maxPoolSize=db_conf.mongodb_max_pool_size,
            retryReads=False, retryWrites=False)
        database = self._client.get_default_database(DEFAULT_DATABASE)
        concern = write_concern.WriteConcern(w=int(w) if w.isdigit() else w)
        self._collection = database.get_collection(COLLECTION,
                                                   write_concern=concern)
        # {_id: user id, n: containers, b: bytes}; kept only for quotas.
        self._usage = database.get_collection(USAGE_COLLECTION,
                                              write_concern=concern)
        # {_id: user id, q: last feed position, e: newest position whose
        # tombstone was dropped}.
        self._feeds = database.get_collection(FEEDS_COLLECTION,
                                              write_concern=concern)
        self._indexes_ready = False

    @contextlib.contextmanager
    def _translated_errors(self):
        """Turn pymongo's errors into storage exceptions; wait no longer
        than the operation's deadline (pymongo's timeout covers server
        selection, the pool and the server's answer)."""
        try:
            left = retry.time_left()
            if left is None:
                yield
            else:
                with pymongo.timeout(max(left, 0.001)):
                    yield
        except mongo_errors.DocumentTooLarge as error:
            raise exceptions.TooLarge(-1, self.max_container_size) from error
        except mongo_errors.PyMongoError as error:
            if _is_transient(error):
                raise exceptions.TransientError(type(error).__name__) \
                    from error
            if getattr(error, 'code', None) in _TOO_LARGE_CODES:
                raise exceptions.TooLarge(
                    -1, self.max_container_size) from error
            raise exceptions.BackendError('database error') from error

    @contextlib.contextmanager
    def _writing(self):
        self._ensure_indexes()
        with self._translated_errors():
            yield

    # Primitives: reads ---------------------------------------------------

    def read(self, user_id, name):
        with self._translated_errors():
            doc = self._collection.find_one(
                {'u': user_id, 'c': name, 'x': LIVE},
                {'_id': 0, 'd': 1, 'r': 1, 'm': 1, 's': 1, 'e': 1})
        return None if doc is None else _stored(doc)

    def read_many(self, user_ids, name):
        with self._translated_errors():
            docs = list(self._collection.find(
                {'u': {'$in': list(user_ids)}, 'c': name, 'x': LIVE},
                {'_id': 0, 'u': 1, 'd': 1, 'r': 1, 'm': 1, 's': 1, 'e': 1}))
        return {doc['u']: _stored(doc) for doc in docs}

    def read_meta(self, user_id, name):
        with self._translated_errors():
            doc = self._collection.find_one({'u': user_id, 'c': name,
                                             'x': LIVE},
                                            {'_id': 0, 'r': 1, 'm': 1,
                                             's': 1, 'e': 1})
        if doc is None:
            return None
        if 's' not in doc:  # written before sizes were kept
            stored = self.read(user_id, name)
            return None if stored is None else stored.meta
        return _meta(doc)

    def read_path(self, user_id, name, path):
        escaped = [escape_key(segment) for segment in path]
        with self._translated_errors():
            doc = self._collection.find_one(
                {'u': user_id, 'c': name, 'x': LIVE},
                {'_id': 0, 'r': 1, 'm': 1, 's': 1, 'e': 1,
                 'd.' + '.'.join(escaped): 1})
        if doc is None:
            return None
        if 's' not in doc:
            return super().read_path(user_id, name, path)
        meta = _meta(doc)
        # A projection goes through arrays too; a key path does not.
        value = doc.get('d', {})
        for segment in escaped:
            if not isinstance(value, dict) or segment not in value:
                return records.PathRead(meta, None)
            value = value[segment]
        return records.PathRead(
            meta, document.compact_json(unescape_value(value)))

    def list_names(self, user_id, limit, marker, prefix):
        with self._translated_errors():
            return [doc['c'] for doc in self._listing(
                {'_id': 0, 'c': 1}, user_id, limit, marker, prefix)]

    def list_metas(self, user_id, limit, marker, prefix):
        with self._translated_errors():
            docs = list(self._listing(
                {'_id': 0, 'c': 1, 'r': 1, 'm': 1, 's': 1, 'e': 1}, user_id,
                limit, marker, prefix))
        metas = []
        for doc in docs:
            if 's' in doc:
                meta = _meta(doc)
            else:   # written before sizes were kept: read it once
                meta = self.read_meta(user_id, doc['c'])
                if meta is None:
                    continue
            metas.append((doc['c'], meta))
        return metas

    def _listing(self, projection, user_id, limit, marker, prefix):
        """A cursor of the user's live containers in name order, from
        ``marker``, of ``prefix``, at most ``limit``."""
        name_filter = {}
        if marker is not None:
            name_filter['$gt'] = marker
        if prefix:
            # An anchored regex on an indexed field is a range scan.
            name_filter['$regex'] = '^' + re.escape(prefix)
        query = dict(_live(records.now_s()), u=user_id, x=LIVE)
        if name_filter:
            query['c'] = name_filter
        cursor = self._collection.find(query, projection).sort(
            'c', pymongo.ASCENDING)
        if limit is not None:
            cursor = cursor.limit(limit)
        return cursor

    def count_usage(self, user_id):
        with self._translated_errors():
            return self._count_usage(user_id, _live(records.now_s()))

    def _count_usage(self, user_id, live=None):
        """The user's containers and bytes: the live ones (``live``, for
        reads), or every one, as the usage record counts until the
        sweep."""
        totals = list(self._collection.aggregate([
            {'$match': dict(live or {}, u=user_id, x=LIVE)},
            {'$group': {'_id': None, 'n': {'$sum': 1},
                        'b': {'$sum': '$s'}}}]))
        if not totals:
            return records.Usage(0, 0)
        return records.Usage(int(totals[0]['n']), int(totals[0]['b']))

    def list_stored(self, after, limit):
        query = {'x': LIVE, '$and': [_live(records.now_s())]}
        if after is not None:
            user_id, name = after
            query['$and'].append({'$or': [
                {'u': {'$gt': user_id}}, {'u': user_id, 'c': {'$gt': name}}]})
        cursor = self._collection.find(
            query, {'_id': 0, 'u': 1, 'c': 1, 'd': 1, 'r': 1, 'm': 1, 's': 1,
                    'e': 1})
        cursor = cursor.sort([('u', pymongo.ASCENDING),
                              ('c', pymongo.ASCENDING)]).limit(limit)
        with self._translated_errors():
            docs = list(cursor)
        return [(doc['u'], doc['c'], _stored(doc)) for doc in docs]

    def list_expired(self, now, limit):
        with self._translated_errors():
            docs = list(self._collection.find(
                {'e': {'$lte': now}, 'x': LIVE},
                {'_id': 0, 'u': 1, 'c': 1, 'r': 1, 's': 1}
            ).sort('e', pymongo.ASCENDING).limit(limit))
        return [(doc['u'], doc['c'], doc['r'], doc.get('s', 0))
                for doc in docs]

    def ping(self):
        with self._translated_errors():
            self._client.admin.command('ping')

    # Primitives: writes --------------------------------------------------

    def insert_if_absent(self, user_id, name, new, usage):
        write_id = bson.ObjectId()
        state = {'u': user_id, 'c': name, 'r': new.revision,
                 'm': new.modified_us, 's': new.size, 'd': _escaped(new),
                 'q': None, 'w': write_id}
        if new.expires_at is not None:
            state['e'] = new.expires_at
        with self._writing():
            with self._reservation(user_id, usage) as kept:
                # Over a tombstone, or as a new document.
                replaced = self._collection.update_one(
                    {'u': user_id, 'c': name, 'x': True},
                    {'$set': state, '$unset': {'x': ''}})
                if not replaced.matched_count:
                    try:
                        self._collection.insert_one(state)
                    except mongo_errors.DuplicateKeyError:
                        return 0
                kept()
            return self._stamp(user_id, name, write_id)

    def replace_if_revision(self, user_id, name, revision, new, usage):
        write_id = bson.ObjectId()
        with self._writing():
            with self._reservation(user_id, usage) as kept:
                result = self._collection.update_one(
                    {'u': user_id, 'c': name, 'r': revision, 'x': LIVE},
                    _with_expiry({'$set': {
                        'r': new.revision, 'm': new.modified_us,
                        's': new.size, 'd': _escaped(new), 'q': None,
                        'w': write_id}}, new.expires_at))
                if result.matched_count != 1:
                    return 0
                kept()
            return self._stamp(user_id, name, write_id)

    def delete_if_revision(self, user_id, name, revision, usage):
        query = {'u': user_id, 'c': name, 'x': LIVE}
        if revision is not None:
            query['r'] = revision
        write_id = bson.ObjectId()
        with self._writing():
            with self._reservation(user_id, usage) as kept:
                if not self._collection.update_one(
                        query, _tombstone(write_id)).matched_count:
                    return 0
                kept()
            return self._stamp(user_id, name, write_id)

    def delete_all(self, user_id):
        with self._writing():
            deleted = self._collection.update_many(
                {'u': user_id, 'x': LIVE}, _tombstone(bson.ObjectId()))
            self._usage.delete_one({'_id': user_id})
            if not deleted.modified_count:
                return 0, 0
            return deleted.modified_count, self._stamp_unstamped(user_id)[1]

    def purge_user(self, user_id):
        with self._writing():
            deleted = self._collection.delete_many(
                {'u': user_id, 'x': LIVE}).deleted_count
            self._collection.delete_many({'u': user_id})
            self._usage.delete_one({'_id': user_id})
            self._expire_every_cursor(user_id)
        return deleted

    def _expire_every_cursor(self, user_id):
        """Move the feed one past every cursor handed out, all of which
        expire (a purge took their tombstones): in one update, so that no
        reader sees the new position without the expiry."""
        for _attempt in range(20):
            counter = self._feeds.find_one({'_id': user_id}, {'q': 1})
            if counter is None:
                return
            position = counter.get('q', 0) + 1
            if self._feeds.update_one(
                    {'_id': user_id, 'q': counter.get('q', 0)},
                    {'$set': {'q': position, 'e': position}}).matched_count:
                return
        raise exceptions.TransientError('the feed counter kept changing')

    def list_user_ids(self):
        with self._translated_errors():
            users = set(self._collection.distinct('u'))
            users.update(self._usage.distinct('_id'))
        # Not the feeds: a purged user keeps the position of theirs.
        return sorted(users)

    # The change feed -----------------------------------------------------

    def _next_positions(self, user_id, count):
        """Take ``count`` positions of the user's feed; the last."""
        for _attempt in range(5):
            try:
                counter = self._feeds.find_one_and_update(
                    {'_id': user_id}, {'$inc': {'q': count}},
                    projection={'q': 1}, upsert=True,
                    return_document=pymongo.ReturnDocument.AFTER)
            except mongo_errors.DuplicateKeyError:
                continue    # two first writes of a user: the other upserted
            # A server may answer a racing upsert with no document (seen
            # with the MongoDB-protocol test server): ask again; at worst
            # a position is skipped, and gaps are harmless.
            if counter is not None:
                return counter['q']
        raise exceptions.TransientError('the feed counter kept changing')

    def _stamp(self, user_id, name, write_id):
        """The second step of a write: a position, stamped on the document
        if it is still this write's and still unstamped (a feed reader may
        have stamped it first, with a later position). The position taken
        is returned either way: the change is at it or after it."""
        position = self._next_positions(user_id, 1)
        self._collection.update_one(
            {'u': user_id, 'c': name, 'w': write_id, 'q': None},
            {'$set': {'q': position}})
        return position

    def _stamp_unstamped(self, user_id):
        """Stamp every unstamped document of the user (writes under way,
        or whose writer died between its steps); the counter as it was
        before, and as it is after."""
        counter = self._feeds.find_one({'_id': user_id}, {'q': 1})
        before = 0 if counter is None else counter.get('q', 0)
        unstamped = list(self._collection.find(
            {'u': user_id, 'q': None}, {'_id': 1, 'w': 1}))
        if not unstamped:
            return before, before
        last = self._next_positions(user_id, len(unstamped))
        first = last - len(unstamped) + 1
        for index, doc in enumerate(unstamped):
            self._collection.update_one(
                {'_id': doc['_id'], 'w': doc.get('w'), 'q': None},
                {'$set': {'q': first + index}})
        return before, last

    def read_feed(self, user_id, after, limit):
        with self._writing():
            position = self._stamp_unstamped(user_id)[0]
            docs = list(self._collection.find(
                {'u': user_id, 'q': {'$gt': after, '$lte': position}},
                {'_id': 0, 'c': 1, 'r': 1, 'x': 1, 'q': 1})
                .sort('q', pymongo.ASCENDING).limit(limit))
            # Read last: a tombstone is dropped after its position is
            # recorded here.
            counter = self._feeds.find_one({'_id': user_id}, {'e': 1})
        entries = [records.FeedEntry(doc['c'], None if doc.get('x')
                                     else doc['r'], doc['q'])
                   for doc in docs]
        expired = 0 if counter is None else counter.get('e', 0)
        return records.FeedRead(entries, position, expired)

    def read_feed_position(self, user_id):
        with self._writing():
            return self._stamp_unstamped(user_id)[0]

    def read_feed_positions(self, user_ids):
        with self._translated_errors():
            return {doc['_id']: doc['q'] for doc in self._feeds.find(
                {'_id': {'$in': user_ids}}, {'q': 1})}

    def drop_tombstones(self, before_us, limit):
        with self._writing():
            docs = list(self._collection.find(
                {'x': True, 'm': {'$lt': before_us}, 'q': {'$ne': None}},
                {'_id': 1, 'u': 1, 'q': 1, 'w': 1}).limit(limit))
            dropped = 0
            for doc in docs:
                # The expired position first: a reader that no longer
                # finds the tombstone then finds its position expired.
                self._feeds.update_one({'_id': doc['u']},
                                       {'$max': {'e': doc['q']}})
                dropped += self._collection.delete_one(
                    {'_id': doc['_id'], 'x': True, 'w': doc.get('w'),
                     'q': doc['q']}).deleted_count
        return dropped

    def drop_excess_tombstones(self, keep, limit):
        with self._writing():
            over = list(self._collection.aggregate([
                {'$match': {'x': True, 'q': {'$ne': None}}},
                {'$group': {'_id': '$u', 'n': {'$sum': 1}}},
                {'$match': {'n': {'$gt': keep}}},
                {'$limit': limit}]))
            dropped = 0
            for user in over:
                user_id = user['_id']
                newest = list(self._collection.find(
                    {'u': user_id, 'x': True, 'q': {'$ne': None}},
                    {'_id': 0, 'q': 1}).sort('q', pymongo.DESCENDING)
                    .skip(keep).limit(1))
                if not newest:
                    continue
                position = newest[0]['q']
                # The expired position first, as in drop_tombstones.
                self._feeds.update_one({'_id': user_id},
                                       {'$max': {'e': position}})
                dropped += self._collection.delete_many(
                    {'u': user_id, 'x': True,
                     'q': {'$lte': position}}).deleted_count
        return dropped

    def forget_usage(self):
        with self._writing():
            self._usage.delete_many({})

    @contextlib.contextmanager
    def _reservation(self, user_id, usage):
        """Take the usage change before a write; give it back unless the
        block calls the function it gets (the write happened).

        MongoDB without transactions cannot change two documents
        atomically: the guarded ``$inc`` on the usage document takes the
        quota first, so concurrent writers can never pass it together. A
        write that fails with the outcome unknown (a lost connection)
        keeps its reservation, as does a process that dies between the
        two steps: usage is then counted too high, never too low, and
        ``cloudprefs-manage usage_sync`` recounts it.
        """
        if usage is None:
            yield lambda: None
            return
        self._reserve(user_id, usage)
        kept = []
        try:
            yield lambda: kept.append(True)
        except mongo_errors.PyMongoError as error:
            if not isinstance(error, mongo_errors.DocumentTooLarge):
                raise   # the write may have happened: keep the reservation
            self._release(user_id, usage)   # refused before it was sent
            raise
        except BaseException:
            self._release(user_id, usage)
            raise
        if not kept:
            self._release(user_id, usage)

    def _release(self, user_id, usage):
        self._usage.update_one(
            {'_id': user_id},
            {'$inc': {'n': -usage.containers, 'b': -usage.bytes}})

    def _reserve(self, user_id, usage):
        guard = {'_id': user_id}
        if usage.containers > 0 and usage.quota.containers is not None:
            guard['n'] = {'$lte': usage.quota.containers - usage.containers}
        if usage.bytes > 0 and usage.quota.bytes is not None:
            guard['b'] = {'$lte': usage.quota.bytes - usage.bytes}
        increment = {'$inc': {'n': usage.containers, 'b': usage.bytes}}
        for _attempt in range(3):
            if self._usage.update_one(guard, increment).matched_count:
                return
            record = self._usage.find_one({'_id': user_id})
            if record is not None:
                # Over the quota (raises), or it changed under us.
                usage.check(records.Usage(record['n'], record['b']))
                continue
            current = self._count_usage(user_id)
            try:
                self._usage.insert_one({'_id': user_id,
                                        'n': current.containers,
                                        'b': current.bytes})
            except mongo_errors.DuplicateKeyError:
                pass
        raise exceptions.TransientError('the usage record kept changing')

    # Schema --------------------------------------------------------------

    def upgrade(self):
        with self._translated_errors():
            self._collection.create_index(
                [('u', pymongo.ASCENDING), ('c', pymongo.ASCENDING)],
                unique=True, name='user_container')
            # The feed in position order, and the unstamped documents
            # (q null or missing: written before the feed existed).
            self._collection.create_index(
                [('u', pymongo.ASCENDING), ('q', pymongo.ASCENDING)],
                name='user_feed')
            # The sweep of expired containers (most have no 'e').
            self._collection.create_index(
                [('e', pymongo.ASCENDING)], name='expiry', sparse=True)
        self._indexes_ready = True

    def prepare(self):
        try:
            self.upgrade()
        except (exceptions.BackendUnavailable, exceptions.TransientError):
            LOG.warning('MongoDB is not reachable at start-up; indexes will '
                        'be made on the first write.')

    def _ensure_indexes(self):
        # Index creation is idempotent; doing it on first use means a new
        # deployment cannot run without the unique index the writes rely on.
        if not self._indexes_ready:
            self.upgrade()

    def close(self):
        self._client.close()


def _tombstone(write_id):
    """The update that turns a container into an unstamped tombstone."""
    return {'$set': {'x': True, 'm': time.time_ns() // 1000, 'q': None,
                     'w': write_id},
            '$unset': {'r': '', 's': '', 'd': '', 'e': ''}}
