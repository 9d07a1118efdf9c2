"""The storage-driver interface.

A driver stores, for each user, named containers: JSON objects with a
revision number and a modification time. The API layer speaks only this
interface and the exceptions of :mod:`cloudprefs.storage.exceptions`; it
never sees pymongo or SQLAlchemy.

Rules every driver keeps (the contract suite in
``tests/storage_contract.py`` checks them):

* The user id is part of every key and every query: no call for one user
  reads or changes another user's data.
* Container names sort in code-point order.
* Values round-trip by value: integers exactly, other numbers as IEEE
  doubles, strings, booleans and null exactly, any object key (``.``,
  ``$``-prefixed, empty, U+0000, non-ASCII) exactly.
* Each write is atomic and none is lost under concurrency, across threads,
  green threads and processes.
* Each write gives the container a new revision, greater than the last,
  and never one it had before even across a delete and re-create: the
  revision starts from the clock in microseconds.
* Database outages raise BackendUnavailable, within the configured timeout.
* A write given a :class:`Precondition` checks it against the revision it
  read and replaces, atomically, and raises RevisionMismatch otherwise.
* With quotas configured, no write takes a user past them, under
  concurrency too (QuotaExceeded, nothing stored).

Drivers implement the abstract methods. The write operations are built on
``update_container``, which a driver makes atomic (typically a
compare-and-swap on the revision); a driver may override any of them with
a native single-statement version as long as the contract suite passes.
"""

import abc
import collections
import json
import random
import time

from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import recent

Container = collections.namedtuple('Container',
                                   ['value', 'revision', 'modified_at'])
Container.__doc__ = """A stored container.

value: the JSON object (a ``dict``).
revision: an ``int`` that changes on every write to the container.
modified_at: the time of the last write, seconds since the epoch (float).
"""

Encoded = collections.namedtuple('Encoded', ['text', 'size'])
Encoded.__doc__ = """A container value as compact JSON text and its size
in bytes of UTF-8."""

Usage = collections.namedtuple('Usage', ['containers', 'bytes'])
Usage.__doc__ = """A user's container count and the bytes of compact JSON
their containers hold."""

Quota = collections.namedtuple('Quota', ['containers', 'bytes'])
Quota.__doc__ = """Per-user limits; None means unlimited."""


class Precondition:
    """What a container must be for a write to go ahead.

    :param revisions: the write happens only if the container exists at one
        of these revisions (``If-Match: "<etag>"``).
    :param exists: True: the container must exist (``If-Match: *``);
        False: it must not (``If-None-Match: *``).
    """

    def __init__(self, revisions=None, exists=None):
        self.revisions = frozenset(revisions) if revisions is not None \
            else None
        self.exists = exists

    def check(self, current):
        """Raise RevisionMismatch unless ``current`` (a revision, or None
        for a missing container) satisfies the precondition."""
        if current is None:
            if self.exists or self.revisions is not None:
                raise exceptions.RevisionMismatch(None)
        elif self.exists is False or (self.revisions is not None
                                      and current not in self.revisions):
            raise exceptions.RevisionMismatch(current)


def check_precondition(precondition, current):
    if precondition is not None:
        precondition.check(current)


def next_revision(previous=None):
    """A revision greater than ``previous`` and at least the clock in µs.

    Starting from the clock means a container deleted and created again
    never reuses a revision a client may still hold.
    """
    now = time.time_ns() // 1000
    if previous is None or now > previous:
        return now
    return previous + 1


# Returned by a compare-and-swap attempt that lost to another writer.
LOST_RACE = object()
# Attempts before giving up; each lost attempt means another writer
# succeeded, so only pathological contention gets here.
MAX_WRITE_ATTEMPTS = 200


def until_won(run_attempt):
    """Call ``run_attempt()`` until it returns something but LOST_RACE."""
    for _attempt in range(MAX_WRITE_ATTEMPTS):
        outcome = run_attempt()
        if outcome is not LOST_RACE:
            return outcome
        # Another writer changed the container between our read and write.
        time.sleep(random.uniform(0, 0.002))
    raise exceptions.BackendUnavailable(
        'gave up after %d conflicting writes' % MAX_WRITE_ATTEMPTS)


def check_quota(quota, usage, added_containers, added_bytes):
    """Raise QuotaExceeded if adding to ``usage`` passes ``quota``.

    Only growth is refused: a write that shrinks a user already over a
    lowered quota goes ahead.
    """
    if (quota.containers is not None and added_containers > 0
            and usage.containers + added_containers > quota.containers):
        raise exceptions.QuotaExceeded('containers', quota.containers)
    if (quota.bytes is not None and added_bytes > 0
            and usage.bytes + added_bytes > quota.bytes):
        raise exceptions.QuotaExceeded('bytes', quota.bytes)


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


class StorageDriver(metaclass=abc.ABCMeta):
    """Base class of the storage drivers.

    :param url: the ``[database] connection`` URL whose scheme chose this
        driver.
    :param conf: the loaded ``oslo_config.cfg.ConfigOpts``; drivers read
        the ``[database]``, ``[api]`` and ``[quota]`` groups from it.
    """

    def __init__(self, url, conf):
        self.url = url
        self.max_container_size = conf.api.max_container_size
        self.quota = Quota(conf.quota.containers_per_user,
                           conf.quota.bytes_per_user)
        self.enforces_quota = (self.quota.containers is not None
                               or self.quota.bytes is not None)
        # What this process last saw of recently used containers, and whose
        # turn it is to write one (see :mod:`cloudprefs.storage.recent`).
        self._recent = recent.RecentContainers()
        self._writer_turns = recent.WriterTurns()

    # Reads ---------------------------------------------------------------

    @abc.abstractmethod
    def list_containers(self, user_id, limit=None, marker=None, prefix=None):
        """Return the user's container names in code-point order.

        At most ``limit`` names (all when None), only names greater than
        ``marker`` (a plain bound; it need not exist) and only names that
        start with ``prefix``. Each is an index range scan of the user.
        """

    @abc.abstractmethod
    def usage(self, user_id):
        """Return the user's :class:`Usage`."""

    @abc.abstractmethod
    def get_container(self, user_id, name):
        """Return the :class:`Container`; raise NotFound if it is absent."""

    def get_value(self, user_id, name, path):
        """Return ``(value at path, Container)``.

        Raises NotFound for a missing container, a missing key or a path
        through a value that is not an object.
        """
        container = self.get_container(user_id, name)
        return document.get_at_path(container.value, path), container

    @abc.abstractmethod
    def export_containers(self):
        """Yield ``(user_id, name, Container)`` for every stored container.

        Ordered by user id, then name; streamed, so that a large database
        is never held in memory. Not a snapshot: containers written while
        it runs may or may not appear.
        """

    # Writes --------------------------------------------------------------

    @abc.abstractmethod
    def update_container(self, user_id, name, mutate, create_missing,
                         precondition=None):
        """Atomically replace a container with ``mutate(current_value)``.

        ``mutate`` receives the current object (``{}`` for a container
        that does not exist yet) and returns the new one, or raises a
        storage exception that aborts the write with nothing stored. It may
        be called more than once when writers race, so it must not have
        side effects. When the container does not exist and
        ``create_missing`` is false nothing is written and ``None`` is
        returned; otherwise the new revision is returned.

        The driver checks ``precondition`` against the revision it read
        (and replaces only that revision), calls :meth:`encode` on the new
        value (it checks the size limit), and with quotas configured keeps
        the user within them.
        """

    def _update_in_turn(self, user_id, name, mutate, precondition,
                        compare_and_swap, read_and_write):
        """Run a write of ``update_container`` in the container's writer
        turn: in one round trip from what this process last saw of the
        container when it can, else by ``read_and_write()``.

        ``compare_and_swap(user_id, name, seen_revision, revision, value,
        encoded)`` replaces the container if it is still at
        ``seen_revision`` and says whether it did. The guess is used only
        without quota accounting, whose writes need more than that.
        """
        with self._writer_turns.turn(user_id, name):
            if not self.enforces_quota:
                revision = self._write_from_recent(
                    user_id, name, mutate, precondition, compare_and_swap)
                if revision is not None:
                    return revision
            return read_and_write()

    def _write_from_recent(self, user_id, name, mutate, precondition,
                           compare_and_swap):
        """The write from what this process last saw; None when it saw
        nothing or that is out of date."""
        seen = self._recent.get(user_id, name)
        if seen is None:
            return None
        try:
            check_precondition(precondition, seen.revision)
            value = mutate(json.loads(seen.text))
            encoded = self.encode(value)
        except exceptions.StorageError:
            return None     # perhaps only because ``seen`` is out of date
        revision = next_revision(seen.revision)
        if not compare_and_swap(user_id, name, seen.revision, revision,
                                value, encoded):
            self._recent.forget(user_id, name)
            return None
        self._remember_written(user_id, name, revision, encoded)
        return revision

    def _remember_written(self, user_id, name, revision, encoded):
        """Keep what a write stored, for the next write's guess (only
        without quota accounting, the only case that guesses)."""
        if not self.enforces_quota:
            self._recent.remember(user_id, name, revision, encoded.text,
                                  encoded.size)

    @abc.abstractmethod
    def delete_container(self, user_id, name, precondition=None):
        """Delete one container; deleting a missing one is not an error
        (but fails a precondition that wants it to exist)."""

    @abc.abstractmethod
    def delete_user(self, user_id):
        """Delete every container of the user."""

    @abc.abstractmethod
    def forget_usage(self):
        """Drop the usage records quotas are enforced with; each user's is
        counted again from their containers by their next write."""

    def merge(self, user_id, name, obj, precondition=None):
        """Create the container if needed and replace obj's top-level keys.

        Returns the new revision. An empty ``obj`` only makes sure the
        container exists.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.merge_top_level(current, obj),
            create_missing=True, precondition=precondition)

    def set_value(self, user_id, name, path, value, precondition=None):
        """Set ``value`` at the key ``path`` (a non-empty list of keys).

        Creates the container and missing intermediate objects. Raises
        PathConflict, with nothing changed, when a segment before the last
        meets a value that is not an object. Returns the new revision.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.set_at_path(current, path, value),
            create_missing=True, precondition=precondition)

    def merge_patch(self, user_id, name, path, patch, precondition=None):
        """Apply an RFC 7396 merge patch at ``path`` (``[]``: the container).

        Creates what is missing like :meth:`set_value`. Returns the new
        revision.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.merge_patch_at_path(current, path,
                                                         patch),
            create_missing=True, precondition=precondition)

    def replace(self, user_id, name, value, precondition=None):
        """Create or overwrite a whole container (used by import).

        Returns the new revision.
        """
        return self.update_container(user_id, name, lambda current: value,
                                     create_missing=True,
                                     precondition=precondition)

    def delete_value(self, user_id, name, path, precondition=None):
        """Remove the key at ``path``; a missing one is not an error.

        Returns the container's new revision, or ``None`` when the
        container does not exist.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.delete_at_path(current, path),
            create_missing=False, precondition=precondition)

    # Helpers and lifecycle -------------------------------------------------

    def encode(self, value):
        """:class:`Encoded` compact JSON of a container value.

        Raises TooLarge past ``[api] max_container_size``.
        """
        text = document.compact_json(value)
        size = document.encoded_size(text)
        if size > self.max_container_size:
            raise exceptions.TooLarge(size, self.max_container_size)
        return Encoded(text, size)

    @abc.abstractmethod
    def ping(self):
        """Check the database answers; raise BackendUnavailable if not."""

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
