"""Quota reservations of the MongoDB driver, mixed into
:class:`cloudprefs.storage.mongodb.MongoDBDriver`."""

import contextlib

from pymongo import errors as mongo_errors

from cloudprefs.storage import exceptions
from cloudprefs.storage import records


class UsageReservations:
    """The usage document of each owner (``_usage``: ``{_id: owner, n:
    containers, b: bytes}``), kept only while a quota is set."""

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
