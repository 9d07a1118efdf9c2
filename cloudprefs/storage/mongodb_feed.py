"""The MongoDB driver's change feed, mixed into
:class:`cloudprefs.storage.mongodb.MongoDBDriver`.

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

import pymongo
from pymongo import errors as mongo_errors

from cloudprefs.storage import exceptions
from cloudprefs.storage import records


class FeedSteps:
    """The feed primitives, on the driver's ``_collection`` (containers
    and tombstones) and ``_feeds`` (a counter document per user)."""

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
