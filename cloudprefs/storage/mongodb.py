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

The change feed (:mod:`cloudprefs.storage.mongodb_feed`) and the usage
reservations (:mod:`cloudprefs.storage.mongodb_usage`) are steps of their
own modules, mixed into the driver.
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
from cloudprefs.storage import mongodb_errors
from cloudprefs.storage import mongodb_feed
from cloudprefs.storage import mongodb_usage
from cloudprefs.storage import records
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


class MongoDBDriver(mongodb_feed.FeedSteps,
                    mongodb_usage.UsageReservations, base.StorageDriver):

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

    def _translated_errors(self):
        """Storage exceptions for pymongo's; waits capped by the deadline
        (:mod:`cloudprefs.storage.mongodb_errors`)."""
        return mongodb_errors.translated(self.max_container_size)

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

    def list_user_ids(self):
        with self._translated_errors():
            users = set(self._collection.distinct('u'))
            users.update(self._usage.distinct('_id'))
        # Not the feeds: a purged user keeps the position of theirs.
        return sorted(users)

    def forget_usage(self):
        with self._writing():
            self._usage.delete_many({})

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
