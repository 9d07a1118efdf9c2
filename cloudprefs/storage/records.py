"""The values that pass between the API, the base driver and the drivers.

Containers travel as compact JSON text (see
:func:`cloudprefs.storage.document.compact_json`): that is what the SQL
drivers store and what the API sends, so a read is never parsed and
serialized again on its way out.
"""

import json
import time
import typing

from cloudprefs.storage import exceptions


def next_revision(previous=None):
    """A revision greater than ``previous`` and at least the clock in µs.

    Starting from the clock means a container deleted and created again
    never reuses a revision a client may still hold.
    """
    now = time.time_ns() // 1000
    if previous is None or now > previous:
        return now
    return previous + 1


def now_s():
    """The current Unix second, as expiry compares it: a container whose
    ``expires_at`` is at or before it is gone."""
    return int(time.time())


def is_expired(expires_at):
    return expires_at is not None and expires_at <= now_s()


class Meta(typing.NamedTuple):
    """A container without its value."""

    revision: int
    modified_us: int    # time of the last write, µs since the epoch
    size: int           # bytes of its compact JSON (UTF-8)
    expires_at: typing.Optional[int] = None     # Unix second; None: never

    @property
    def expired(self) -> bool:
        return is_expired(self.expires_at)


class Stored(typing.NamedTuple):
    """A container as a driver reads it: its :class:`Meta` and text."""

    revision: int
    modified_us: int
    size: int
    text: str
    expires_at: typing.Optional[int] = None

    @property
    def meta(self) -> Meta:
        return Meta(self.revision, self.modified_us, self.size,
                    self.expires_at)

    @property
    def expired(self) -> bool:
        return is_expired(self.expires_at)


class PathRead(typing.NamedTuple):
    """What :meth:`read_path` finds: the container's :class:`Meta`, and
    the compact JSON of the value at the path (None when nothing is
    there)."""

    meta: Meta
    text: typing.Optional[str]


class Replacement(typing.NamedTuple):
    """What a write stores: the new value, as the Python object (for
    drivers that store structure) and as compact JSON text, with its size
    and the container's new revision and modification time."""

    revision: int
    modified_us: int
    value: dict
    text: str
    size: int
    expires_at: typing.Optional[int] = None

    @property
    def stored(self) -> Stored:
        return Stored(self.revision, self.modified_us, self.size, self.text,
                      self.expires_at)


class Usage(typing.NamedTuple):
    """A user's container count and the bytes of compact JSON their
    containers hold."""

    containers: int
    bytes: int


class Quota(typing.NamedTuple):
    """Per-user limits; None means unlimited."""

    containers: typing.Optional[int]
    bytes: typing.Optional[int]

    @property
    def limited(self) -> bool:
        return self.containers is not None or self.bytes is not None


class UsageChange(typing.NamedTuple):
    """What a write adds to its user's usage, and the quota it must keep.

    A driver given one applies it with the write, atomically as far as its
    store allows, calling :meth:`check` on the usage before the change.
    """

    containers: int
    bytes: int
    quota: Quota

    def check(self, usage: Usage) -> None:
        """Raise QuotaExceeded if the change takes ``usage`` past the quota.

        Only growth is refused: a write that shrinks a user already over a
        lowered quota goes ahead.
        """
        quota = self.quota
        if (quota.containers is not None and self.containers > 0
                and usage.containers + self.containers > quota.containers):
            raise exceptions.QuotaExceeded('containers', quota.containers)
        if (quota.bytes is not None and self.bytes > 0
                and usage.bytes + self.bytes > quota.bytes):
            raise exceptions.QuotaExceeded('bytes', quota.bytes)


class Precondition:
    """What a container must be for a write to go ahead.

    :param revisions: the write happens only if the container exists at one
        of these revisions (``If-Match: "<etag>"``).
    :param exists: True: the container must exist (``If-Match: *``);
        False: it must not (``If-None-Match: *``).
    :param revision_below: the write happens only if the container is
        missing or its revision is below this one (``If-Unmodified-Since``:
        a revision is the time of its write in µs, or just above it).
    """

    def __init__(self, revisions=None, exists=None, revision_below=None):
        self.revisions = frozenset(revisions) if revisions is not None \
            else None
        self.exists = exists
        self.revision_below = revision_below

    def check(self, current: typing.Optional[int]) -> None:
        """Raise RevisionMismatch unless ``current`` (a revision, or None
        for a missing container) satisfies the precondition."""
        if current is None:
            if self.exists or self.revisions is not None:
                raise exceptions.RevisionMismatch(None)
        elif (self.exists is False
              or (self.revisions is not None
                  and current not in self.revisions)
              or (self.revision_below is not None
                  and current >= self.revision_below)):
            raise exceptions.RevisionMismatch(current)


class Read:
    """A container, or the value at a path inside one, as the API gets it.

    ``text`` is the compact JSON the API sends; ``value`` parses it on
    first use. ``revision``, ``modified_at`` and ``expires_at`` are the
    container's.
    """

    __slots__ = ('text', 'revision', 'modified_us', 'expires_at', '_value')

    def __init__(self, text: str, revision: int, modified_us: int,
                 expires_at: typing.Optional[int] = None):
        self.text = text
        self.revision = revision
        self.modified_us = modified_us
        self.expires_at = expires_at
        self._value = _UNPARSED

    @property
    def value(self):
        if self._value is _UNPARSED:
            self._value = json.loads(self.text)
        return self._value

    @property
    def modified_at(self) -> float:
        """Seconds since the epoch."""
        return self.modified_us / 1e6

    def __repr__(self):
        return 'Read(revision=%d, %d characters)' % (self.revision,
                                                     len(self.text))


_UNPARSED = object()


class Change(typing.NamedTuple):
    """A durable change of a user's data, as the driver announces it to
    its change listeners (notifications).

    ``action`` is ``create``, ``update`` or ``delete`` of ``container``, or
    ``purge``: every container of the user (``containers`` of them) went.
    ``revision`` and ``bytes`` describe the container after the write
    (None and 0 when it is gone); ``position`` is the change's position
    in the user's change feed (None for a purge, which drops the feed).
    ``reason`` says why a delete happened when nobody asked for it:
    ``expired``.
    """

    action: str
    user_id: str
    container: typing.Optional[str]
    revision: typing.Optional[int]
    bytes: int
    containers: int = 1
    position: typing.Optional[int] = None
    reason: typing.Optional[str] = None


class Expiry(typing.NamedTuple):
    """A write's instruction for the container's expiry: from
    ``expires_at`` (a Unix second; None: never). A write without one
    keeps the container's expiry."""

    expires_at: typing.Optional[int]


class Written(typing.NamedTuple):
    """What a write answers: the container's revision after it (None:
    the container does not exist) and the position its change took in
    the user's change feed (None: it changed nothing)."""

    revision: typing.Optional[int]
    position: typing.Optional[int]


class FeedEntry(typing.NamedTuple):
    """A container's latest change in its user's feed.

    ``revision`` is the container's revision after it; None for a
    tombstone (the change deleted the container).
    """

    container: str
    revision: typing.Optional[int]
    position: int

    @property
    def deleted(self) -> bool:
        return self.revision is None


class FeedRead(typing.NamedTuple):
    """What a driver reads of a user's change feed.

    ``entries``: the latest change of each container whose latest change
    lies after the position asked for, in position order. ``position``:
    the user's feed position, read before the entries, such that every
    change at or before it is in the store (nothing will ever take a
    position at or before it). ``expired``: the newest position whose
    tombstone was dropped (0: none); a reader behind it may have missed a
    deletion.
    """

    entries: typing.List[FeedEntry]
    position: int
    expired: int


class ChangePage(typing.NamedTuple):
    """A page of the change feed as the API answers it: the changes after
    the cursor asked for, the cursor to ask with next, and whether more
    changes are waiting."""

    changes: typing.List[FeedEntry]
    cursor: int
    more: bool
