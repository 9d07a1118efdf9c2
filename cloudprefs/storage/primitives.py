"""What a storage driver implements: its primitives.

The specification a new driver is written from is the docstring of
:class:`Primitives`; the contract suite (``tests/storage_contract.py``)
checks a driver against it.
"""

import abc
import typing

from cloudprefs.storage import document
from cloudprefs.storage import heavy_work
from cloudprefs.storage import records


class Primitives(metaclass=abc.ABCMeta):
    """The single steps a driver takes in its own store.

    How to write a driver: subclass
    :class:`cloudprefs.storage.base.StorageDriver` (which inherits this
    class), implement the abstract methods below, register the class
    under the ``cloudprefs.storage`` entry-point group with the URL scheme
    it serves, and make the contract suite pass (a test module of three
    fixtures and a one-line class, see ``tests/storage_contract.py``).
    ``read_meta`` and ``read_path`` have working defaults built on
    ``read``; override them to leave what is not needed in the database.

    A primitive is one step: it has no retry loop, checks no precondition
    and knows nothing of merges or key paths. The base driver does all of
    that, once, for every driver:

    * a write starts from the container as read (or as this process last
      saw it), computes the new value with the pure functions of
      :mod:`cloudprefs.storage.document`, checks the precondition, the size
      limit and the quota, and stores it with a compare-and-swap primitive
      (``insert_if_absent``, ``replace_if_revision``,
      ``delete_if_revision``); when another writer got there first it
      reads again and starts over;
    * every primitive call runs under the retry policy of
      :mod:`cloudprefs.storage.retry`: a primitive raises TransientError
      for anything worth trying again (a deadlock, a lost connection, a
      primary stepping down) and the policy tries again until the
      operation's deadline, then answers BackendUnavailable.

    Besides TransientError a primitive raises BackendUnavailable (waiting
    longer will not help: no pooled connection came free in ``[database]
    timeout``), BackendError (the database refused for another reason),
    TooLarge (the store itself refuses the size) and, from
    :meth:`records.UsageChange.check`, QuotaExceeded; each wraps the
    driver's own exception in ``__cause__``. It never lets the database
    client's own exceptions out.

    Rules every driver keeps:

    * The user id is part of every key and every query: no call for one
      user reads or changes another user's data.
    * Container names sort in code-point order.
    * Values round-trip by value: integers exactly, other numbers as IEEE
      doubles, strings, booleans and null exactly, any object key (``.``,
      ``$``-prefixed, empty, U+0000, non-ASCII) exactly; the text a read
      returns is the compact JSON the write stored.
    * A compare-and-swap primitive changes the container only if it is
      still at the revision given, atomically, and says whether it did; an
      insert relies on a unique key. Nothing more is needed for writes to
      be atomic and none to be lost across threads, green threads and
      processes.
    * A primitive that fails leaves the store as it was or as the whole
      step makes it, never half of it; given a UsageChange, it changes the
      user's usage record with the container (a driver that cannot make
      the two atomic may count too much, never too little, and says so).
    * Every change a write primitive stores takes the next position in
      its user's change feed (positive integers, growing), atomically
      with the change, and becomes the container's entry in the feed (a
      tombstone, revision None, for a deletion). Positions are made
      visible in order: once a reader has seen position N, no change
      ever appears at or before N that it did not see (with row locks,
      allocate the position under the lock that orders the user's
      writers, in the write's transaction; see the SQL and MongoDB
      drivers for two ways). A write that stores nothing takes none.
    * A container stores its ``expires_at`` (a Unix second, or none) with
      its value. Listings, ``list_metas`` and ``count_usage`` leave out
      containers expired at the current second; ``read``, ``read_meta``
      and ``read_path`` return them with their ``expires_at`` (the base
      driver treats them as gone, and deletes one a write meets). The
      usage record counts them until they are deleted.
    """

    @abc.abstractmethod
    def read(self, user_id: str, name: str) -> typing.Optional[
            records.Stored]:
        """The container's :class:`~records.Stored` revision, modification
        time, size and compact JSON text; None if it does not exist."""

    def read_meta(self, user_id: str, name: str) -> typing.Optional[
            records.Meta]:
        """The container's :class:`~records.Meta`, without its value
        (HEAD, conditional requests, deletes); None if it does not exist.

        Drivers override this to leave the value in the database.
        """
        stored = self.read(user_id, name)
        return None if stored is None else stored.meta

    def read_many(self, user_ids: typing.List[str], name: str
                  ) -> typing.Dict[str, records.Stored]:
        """The container ``name`` of each of (at most four) owners, as
        :meth:`read` gives it, by owner; an owner without it is left out.
        The merged view of the layers (API 1.4) reads with it.

        Drivers override this to read them in one round trip.
        """
        found = {}
        for user_id in user_ids:
            stored = self.read(user_id, name)
            if stored is not None:
                found[user_id] = stored
        return found

    def read_path(self, user_id: str, name: str, path: typing.List[str]
                  ) -> typing.Optional[records.PathRead]:
        """The compact JSON of the value at the key ``path`` (a non-empty
        list), with the container's Meta; None if the container does not
        exist. The text is byte for byte what :meth:`read` returns at that
        place.

        Drivers override this to read just that part of the container.
        """
        stored = self.read(user_id, name)
        if stored is None:
            return None
        with heavy_work.turns.step(stored.size):
            text = document.text_at_path(stored.text, path)
        return records.PathRead(stored.meta, text)

    @abc.abstractmethod
    def insert_if_absent(self, user_id: str, name: str,
                         new: records.Replacement,
                         usage: typing.Optional[records.UsageChange]
                         ) -> int:
        """Create the container as ``new``; its feed position, or 0
        (nothing stored) if it exists already. With ``usage``, change the
        user's usage record with it (see :class:`~records.UsageChange`)."""

    @abc.abstractmethod
    def replace_if_revision(self, user_id: str, name: str, revision: int,
                            new: records.Replacement,
                            usage: typing.Optional[records.UsageChange]
                            ) -> int:
        """Replace the container by ``new`` if it is at ``revision``; its
        feed position, or 0 (nothing stored) if it is not, or does not
        exist."""

    @abc.abstractmethod
    def delete_if_revision(self, user_id: str, name: str,
                           revision: typing.Optional[int],
                           usage: typing.Optional[records.UsageChange]
                           ) -> int:
        """Delete the container if it is at ``revision`` (whatever its
        revision when None), leaving a tombstone in the feed; the
        tombstone's position, or 0 if it deleted nothing."""

    @abc.abstractmethod
    def delete_all(self, user_id: str) -> typing.Tuple[int, int]:
        """Delete every container of the user and their usage record,
        leaving a tombstone for each in the feed: how many containers it
        deleted and the feed position after it (0 when none)."""

    @abc.abstractmethod
    def purge_user(self, user_id: str) -> int:
        """Remove everything of the user (containers, usage record, change
        feed) for good; how many containers it deleted."""

    @abc.abstractmethod
    def read_feed(self, user_id: str, after: int, limit: int
                  ) -> records.FeedRead:
        """The user's change feed after position ``after``: at most
        ``limit`` entries (see :class:`~records.FeedRead`)."""

    @abc.abstractmethod
    def read_feed_position(self, user_id: str) -> int:
        """The user's feed position: every change at or before it is
        readable (0 for a user with no changes)."""

    @abc.abstractmethod
    def read_feed_positions(self, user_ids: typing.List[str]
                            ) -> typing.Dict[str, int]:
        """The feed positions of many users in one round trip, for the
        long-poll wake-up; users with none may be left out. A position may
        run ahead of what :meth:`read_feed` shows yet (a change still
        being written), never behind."""

    @abc.abstractmethod
    def drop_tombstones(self, before_us: int, limit: int) -> int:
        """Drop up to ``limit`` tombstones of changes made before
        ``before_us`` (µs since the epoch), raising their users'
        ``expired`` position first; how many it dropped."""

    @abc.abstractmethod
    def drop_excess_tombstones(self, keep: int, limit: int) -> int:
        """For up to ``limit`` users with more than ``keep`` tombstones,
        drop the oldest of them, all but the newest ``keep``, raising the
        user's ``expired`` position first; how many it dropped."""

    @abc.abstractmethod
    def list_user_ids(self) -> typing.List[str]:
        """Every user id that has a container or a usage record, sorted
        (for finding the data of users the identity service deleted)."""

    @abc.abstractmethod
    def list_names(self, user_id: str, limit: typing.Optional[int],
                   marker: typing.Optional[str],
                   prefix: typing.Optional[str]) -> typing.List[str]:
        """The user's container names in code-point order: at most
        ``limit`` (all when None), only names greater than ``marker`` (a
        plain bound; it need not exist), only names that start with
        ``prefix``. An index range scan of the user."""

    @abc.abstractmethod
    def list_metas(self, user_id: str, limit: typing.Optional[int],
                   marker: typing.Optional[str],
                   prefix: typing.Optional[str]
                   ) -> typing.List[typing.Tuple[str, records.Meta]]:
        """What :meth:`list_names` lists, each name with its container's
        :class:`~records.Meta`: one query, no value read."""

    @abc.abstractmethod
    def list_expired(self, now: int, limit: int
                     ) -> typing.List[typing.Tuple[str, str, int, int]]:
        """Up to ``limit`` containers of any user expired at ``now`` (a
        Unix second), the earliest first: ``(user_id, name, revision,
        size)`` each. An index range scan."""

    @abc.abstractmethod
    def count_usage(self, user_id: str) -> records.Usage:
        """The user's container count and bytes, counted from the
        containers."""

    @abc.abstractmethod
    def forget_usage(self) -> None:
        """Drop the usage records quotas are enforced with; each user's is
        counted again from their containers by their next write."""

    @abc.abstractmethod
    def list_stored(self, after: typing.Optional[typing.Tuple[str, str]],
                    limit: int) -> typing.List[
                        typing.Tuple[str, str, records.Stored]]:
        """Up to ``limit`` ``(user_id, name, Stored)`` of every user,
        ordered by user id then name, after the ``(user_id, name)`` pair
        ``after`` (from the start when None)."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Check the database answers."""
