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

Drivers implement the abstract methods. The write operations are built on
``update_container``, which a driver makes atomic (typically a
compare-and-swap on the revision); a driver may override any of them with
a native single-statement version as long as the contract suite passes.
"""

import abc
import collections
import time

from cloudprefs.storage import document
from cloudprefs.storage import exceptions

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


def next_revision(previous=None):
    """A revision greater than ``previous`` and at least the clock in µs.

    Starting from the clock means a container deleted and created again
    never reuses a revision a client may still hold.
    """
    now = time.time_ns() // 1000
    if previous is None or now > previous:
        return now
    return previous + 1


class StorageDriver(metaclass=abc.ABCMeta):
    """Base class of the storage drivers.

    :param url: the ``[database] connection`` URL whose scheme chose this
        driver.
    :param conf: the loaded ``oslo_config.cfg.ConfigOpts``; drivers read
        the ``[database]`` and ``[api]`` groups from it.
    """

    def __init__(self, url, conf):
        self.url = url
        self.max_container_size = conf.api.max_container_size

    # Reads ---------------------------------------------------------------

    @abc.abstractmethod
    def list_containers(self, user_id):
        """Return the user's container names, sorted in code-point order."""

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

    # Writes --------------------------------------------------------------

    @abc.abstractmethod
    def update_container(self, user_id, name, mutate, create_missing):
        """Atomically replace a container with ``mutate(current_value)``.

        ``mutate`` receives the current object (``{}`` for a container
        that does not exist yet) and returns the new one, or raises a
        storage exception that aborts the write with nothing stored. It may
        be called more than once when writers race, so it must not have
        side effects. When the container does not exist and
        ``create_missing`` is false nothing is written and ``None`` is
        returned; otherwise the new revision is returned.

        The driver must call :meth:`encode` on the new value (it checks
        the size limit) before storing it.
        """

    @abc.abstractmethod
    def export_containers(self):
        """Yield ``(user_id, name, Container)`` for every stored container.

        Ordered by user id, then name; streamed, so that a large database
        is never held in memory. Not a snapshot: containers written while
        it runs may or may not appear.
        """

    @abc.abstractmethod
    def delete_container(self, user_id, name):
        """Delete one container; deleting a missing one is not an error."""

    @abc.abstractmethod
    def delete_user(self, user_id):
        """Delete every container of the user."""

    def merge(self, user_id, name, obj):
        """Create the container if needed and replace obj's top-level keys.

        Returns the new revision. An empty ``obj`` only makes sure the
        container exists.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.merge_top_level(current, obj),
            create_missing=True)

    def set_value(self, user_id, name, path, value):
        """Set ``value`` at the key ``path`` (a non-empty list of keys).

        Creates the container and missing intermediate objects. Raises
        PathConflict, with nothing changed, when a segment before the last
        meets a value that is not an object. Returns the new revision.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.set_at_path(current, path, value),
            create_missing=True)

    def replace(self, user_id, name, value):
        """Create or overwrite a whole container (used by import).

        Returns the new revision.
        """
        return self.update_container(user_id, name, lambda current: value,
                                     create_missing=True)

    def delete_value(self, user_id, name, path):
        """Remove the key at ``path``; a missing one is not an error.

        Returns the container's new revision, or ``None`` when the
        container does not exist.
        """
        return self.update_container(
            user_id, name,
            lambda current: document.delete_at_path(current, path),
            create_missing=False)

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
