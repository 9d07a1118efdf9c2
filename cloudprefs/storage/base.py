"""The storage-driver interface the API uses, and the one write algorithm.

A driver stores, for each user, named containers: JSON objects with a
revision number, a modification time and a size. The API layer speaks only
the public methods of :class:`StorageDriver` and the exceptions of
:mod:`cloudprefs.storage.exceptions`; it never sees pymongo or
SQLAlchemy. A driver implements the primitives of
:class:`cloudprefs.storage.primitives.Primitives` (whose docstring says
how to write one); everything above them is here, written once.
"""

import logging
import time
import typing

from cloudprefs.conf import quota as quota_conf
from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import feed_operations
from cloudprefs.storage import heavy_work
from cloudprefs.storage import json_patch
from cloudprefs.storage import owner_operations
from cloudprefs.storage import primitives
from cloudprefs.storage import read_operations
from cloudprefs.storage import recent
from cloudprefs.storage import records
from cloudprefs.storage import retry
from cloudprefs.storage import turns


class _Write(typing.NamedTuple):
    """What a write decided: store ``replacement`` with ``usage``."""

    replacement: records.Replacement
    usage: typing.Optional[records.UsageChange]


class _Nothing(typing.NamedTuple):
    """What a write decided: store nothing and answer ``revision`` (the
    container's unchanged revision, or None: it does not exist)."""

    revision: typing.Optional[int]


LOG = logging.getLogger(__name__)


class StorageDriver(read_operations.ReadOperations,
                    owner_operations.OwnerOperations,
                    feed_operations.FeedOperations, primitives.Primitives):
    """Base class of the storage drivers.

    :param url: the ``[database] connection`` URL whose scheme chose this
        driver.
    :param conf: the loaded ``oslo_config.cfg.ConfigOpts``; drivers read
        the ``[database]``, ``[api]`` and ``[quota]`` groups from it.
    """

    def __init__(self, url, conf):
        self.url = url
        self.max_container_size = conf.api.max_container_size
        self.quota = records.Quota(
            quota_conf.limit(conf.quota.containers_per_user),
            quota_conf.limit(conf.quota.bytes_per_user))
        self.enforces_quota = self.quota.limited
        self.operation_timeout = conf.database.operation_timeout
        self.wait_timeout = conf.database.timeout
        # Called with a records.Change after each durable change, in the
        # writer's thread; see add_change_listener().
        self._change_listeners = {}
        self._recent = recent.make(conf.database.recent_containers_cache_size)
        self._writer_turns = turns.WriterTurns()

    def _deadline(self):
        return retry.Deadline(self.operation_timeout)

    # Writes --------------------------------------------------------------

    def merge(self, user_id, name, obj, precondition=None, expiry=None):
        """Create the container if needed and replace obj's top-level keys.

        Returns the :class:`~records.Written` revision and feed position.
        An empty ``obj`` only makes sure the container exists. Every write
        takes an ``expiry`` (:class:`records.Expiry`) that sets or clears
        when the container expires; without one it keeps its expiry.
        """
        return self._change(
            user_id, name,
            lambda current: document.merge_top_level(current, obj),
            True, precondition, expiry)

    def set_value(self, user_id, name, path, value, precondition=None,
                  expiry=None):
        """Set ``value`` at the key ``path`` (a non-empty list of keys).

        Creates the container and missing intermediate objects. Raises
        PathConflict, with nothing changed, when a segment before the last
        meets a value that is not an object.
        """
        return self._change(
            user_id, name,
            lambda current: document.set_at_path(current, path, value),
            True, precondition, expiry)

    def merge_patch(self, user_id, name, path, patch, precondition=None,
                    expiry=None):
        """Apply an RFC 7396 merge patch at ``path`` (``[]``: the
        container), creating what is missing like :meth:`set_value`."""
        return self._change(
            user_id, name,
            lambda current: document.merge_patch_at_path(current, path,
                                                         patch),
            True, precondition, expiry)

    def json_patch(self, user_id, name, operations, max_depth,
                   precondition=None, expiry=None):
        """Apply JSON Patch ``operations`` (from :func:`json_patch.parse`)
        to the container, all or nothing, creating it (from ``{}``) if
        needed like :meth:`merge_patch`. Raises PatchConflict, with
        nothing changed, when an operation cannot apply; TooDeep when a
        value would land more than ``max_depth`` levels down."""
        return self._change(
            user_id, name,
            lambda current: json_patch.apply(current, operations, max_depth),
            True, precondition, expiry)

    def replace(self, user_id, name, value, precondition=None,
                expiry=None):
        """Create or overwrite a whole container (used by import)."""
        return self._change(user_id, name, lambda current: value, True,
                            precondition, expiry)

    def delete_value(self, user_id, name, path, precondition=None):
        """Remove the key at ``path``; a missing one is not an error.

        The revision in the :class:`~records.Written` answer is None when
        the container does not exist.
        """
        return self._change(
            user_id, name,
            lambda current: document.delete_at_path(current, path),
            False, precondition)

    def delete_container(self, user_id, name, precondition=None
                         ) -> records.Written:
        """Delete one container; deleting a missing one is not an error
        (but fails a precondition that wants it to exist)."""
        deadline = self._deadline()
        with self._writer_turns.turn(user_id, name):
            self._recent.forget(user_id, name)
            if precondition is None and not self.enforces_quota:
                return self._deleted(user_id, name, retry.call(
                    deadline, self.delete_if_revision, user_id, name, None,
                    None))
            while True:
                meta = retry.call(deadline, self.read_meta, user_id, name)
                if meta is not None and meta.expired:
                    # Gone already: deleted as the sweep would delete it.
                    self._expire(user_id, name, meta.revision, meta.size,
                                 deadline)
                    continue
                if precondition is not None:
                    precondition.check(meta and meta.revision)
                if meta is None:
                    return records.Written(None, None)
                position = retry.call(deadline, self.delete_if_revision,
                                      user_id, name, meta.revision,
                                      self._removal_usage(meta.size))
                if position:
                    return self._deleted(user_id, name, position)
                retry.pause_after_lost_race(deadline)

    def _expire(self, user_id, name, revision, size, deadline):
        """Delete an expired container if it is still at ``revision``:
        its tombstone in the feed, its usage given back, a ``delete``
        change announced with reason ``expired``. Whether it went."""
        self._recent.forget(user_id, name)
        position = retry.call(deadline, self.delete_if_revision, user_id,
                              name, revision, self._removal_usage(size))
        self._deleted(user_id, name, position, reason='expired')
        return bool(position)

    def expire_containers(self, batch=500):
        """Delete every container expired by now (see :meth:`_expire`);
        how many went. The sweep of the API workers and of
        ``cloudprefs-manage expire_containers``."""
        expired = 0
        while True:
            now = records.now_s()
            found = retry.call(self._deadline(), self.list_expired, now,
                               batch)
            for user_id, name, revision, size in found:
                with self._writer_turns.turn(user_id, name):
                    if self._expire(user_id, name, revision, size,
                                    self._deadline()):
                        expired += 1
            if len(found) < batch:
                return expired

    def _removal_usage(self, size):
        """The usage change of deleting a container of ``size`` bytes."""
        return (records.UsageChange(-1, -size, self.quota)
                if self.enforces_quota else None)

    def _deleted(self, user_id, name, position, reason=None):
        if not position:
            return records.Written(None, None)
        self._announce(records.Change('delete', user_id, name, None, 0,
                                      position=position, reason=reason))
        return records.Written(None, position)

    # Change listeners ------------------------------------------------------

    def add_change_listener(self, listener, name=None):
        """Call ``listener(change)`` with a :class:`records.Change` after
        each durable change (not after writes that changed nothing). It
        runs in the writer's thread, after the write: it must be quick and
        not block; its errors are logged, never raised to the writer. A
        listener added under the ``name`` of an earlier one replaces it
        (the driver of a URL is shared by every application a process
        loads)."""
        self._change_listeners[name or id(listener)] = listener

    def _announce(self, change):
        for listener in list(self._change_listeners.values()):
            try:
                listener(change)
            except Exception:
                LOG.exception('Change listener %r failed', listener)

    def _change(self, user_id, name, change, create_missing, precondition,
                expiry=None) -> records.Written:
        """:meth:`_write`, counting no expired container against the quota.

        The usage record a quota checks counts a container until it is
        deleted; one past its expiry is gone for every reader already. So
        a write the quota refuses sweeps the expired containers (as the
        workers' sweep would, soon) and is tried once more: the quota
        then holds the live containers only, as the usage reads say.
        """
        try:
            return self._write(user_id, name, change, create_missing,
                               precondition, expiry)
        except exceptions.QuotaExceeded:
            if not self.expire_containers():
                raise
        return self._write(user_id, name, change, create_missing,
                           precondition, expiry)

    def _write(self, user_id, name, change, create_missing, precondition,
               expiry=None) -> records.Written:
        """The write algorithm: make the container ``change(current)``.

        ``change`` receives the current object (``{}`` for a container
        that does not exist yet) and returns the new one, or raises a
        storage exception that refuses the write. It may be called more
        than once, so it has no side effects. When the container does not
        exist and ``create_missing`` is false nothing is written. A
        change that leaves the container's JSON as it was writes nothing
        and keeps its revision.

        Returns the container's revision after the write (None when it
        does not exist) and the write's feed position (None when it
        stored nothing). Writers of one container in this process take
        turns; the first attempt starts from what this process last saw
        of the container, if anything, and every decision not to write
        (a refusal, or nothing to change) is made on a fresh read.
        """
        deadline = self._deadline()
        with self._writer_turns.turn(user_id, name):
            seen = self._recent.get(user_id, name)
            fresh = seen is None
            if fresh:
                seen = retry.call(deadline, self.read, user_id, name)
            while True:
                if seen is not None and seen.expired:
                    # Gone for every reader: deleted as the sweep would
                    # delete it, and the write makes a new container.
                    if fresh:
                        self._expire(user_id, name, seen.revision,
                                     seen.size, deadline)
                    seen, fresh = retry.call(deadline, self.read, user_id,
                                             name), True
                    continue
                try:
                    decision = self._decide(seen, change, create_missing,
                                            precondition, expiry)
                except exceptions.StorageError:
                    if fresh:
                        raise
                    decision = None
                if decision is None or (isinstance(decision, _Nothing)
                                        and not fresh):
                    # Judged on a guess that may be out of date.
                    seen, fresh = retry.call(deadline, self.read, user_id,
                                             name), True
                    continue
                if isinstance(decision, _Nothing):
                    return records.Written(decision.revision, None)
                try:
                    position = retry.call(deadline, self._store, user_id,
                                          name, seen, decision)
                except exceptions.QuotaExceeded:
                    # The usage may count this very write already, if an
                    # earlier attempt was done but its reply lost: refuse
                    # only if the container is still as it was seen.
                    latest = retry.call(deadline, self.read, user_id, name)
                    if latest == seen:
                        raise
                    seen, fresh = latest, True
                    continue
                if position:
                    new = decision.replacement
                    self._recent.remember(user_id, name, new.stored)
                    self._announce(records.Change(
                        'create' if seen is None else 'update', user_id,
                        name, new.revision, new.size, position=position))
                    return records.Written(new.revision, position)
                # Another writer changed the container since ``seen``.
                self._recent.forget(user_id, name)
                retry.pause_after_lost_race(deadline)
                seen, fresh = retry.call(deadline, self.read, user_id,
                                         name), True

    def _decide(self, seen, change, create_missing, precondition,
                expiry=None):
        """What to store, given the container as ``seen`` (None: absent,
        never expired)."""
        if precondition is not None:
            precondition.check(None if seen is None else seen.revision)
        if seen is None and not create_missing:
            return _Nothing(None)
        with heavy_work.turns.step(0 if seen is None else seen.size):
            current = {} if seen is None else document.parse(seen.text)
        with heavy_work.turns.step(0 if seen is None else seen.size):
            value = change(current)
            text = document.compact_json(value)
            size = document.encoded_size(text)
        if size > self.max_container_size:
            raise exceptions.TooLarge(size, self.max_container_size)
        expires_at = (expiry.expires_at if expiry is not None
                      else seen and seen.expires_at)
        if (seen is not None and text == seen.text
                and expires_at == seen.expires_at):
            return _Nothing(seen.revision)
        usage = None
        if self.enforces_quota and (seen is None or size != seen.size):
            usage = records.UsageChange(
                1 if seen is None else 0,
                size - (0 if seen is None else seen.size), self.quota)
        return _Write(records.Replacement(
            records.next_revision(None if seen is None else seen.revision),
            time.time_ns() // 1000, value, text, size, expires_at), usage)

    def _store(self, user_id, name, seen, decision):
        if seen is None:
            return self.insert_if_absent(user_id, name,
                                         decision.replacement,
                                         decision.usage)
        return self.replace_if_revision(user_id, name, seen.revision,
                                        decision.replacement, decision.usage)

    # Lifecycle -------------------------------------------------------------

    def upgrade(self):
        """Create or upgrade the schema and indexes (idempotent)."""

    def schema_revision(self):
        """The schema revision stored in the database; None when the store
        has no versioned schema."""
        return None

    def prepare(self):
        """Get ready to serve, at service start-up.

        Stores that manage their own schema (MongoDB indexes, the embedded
        SQLite file) create what is missing. A database that cannot be
        reached now is not fatal: the service starts, answers 503, and
        recovers when the database comes back.
        """

    def close(self):
        """Release connections; the driver is not used afterwards."""
