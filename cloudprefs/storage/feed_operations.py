"""The change feed of the storage interface, mixed into
:class:`cloudprefs.storage.base.StorageDriver`: reading it, its
positions, and dropping old tombstones."""

import time
import typing

from cloudprefs.storage import exceptions
from cloudprefs.storage import records
from cloudprefs.storage import retry


class FeedOperations:
    """The feed, on the driver's primitives (``read_feed``,
    ``read_feed_position(s)``, ``drop_tombstones``,
    ``drop_excess_tombstones``)."""

    def changes_since(self, user_id, cursor, limit) -> records.ChangePage:
        """The user's changes after ``cursor`` (0: from the beginning), at
        most ``limit`` of them, each container once at its latest change.

        Raises CursorExpired when the cursor is behind a tombstone that
        was dropped (the reader may have missed a deletion) or ahead of
        the feed (it is not a cursor of this user's feed, e.g. from before
        the user was purged).
        """
        feed = retry.call(self._deadline(), self.read_feed, user_id, cursor,
                          limit + 1)
        if cursor > feed.position or 0 < cursor < feed.expired:
            raise exceptions.CursorExpired(cursor)
        entries = feed.entries
        if len(entries) > limit:
            entries = entries[:limit]
            return records.ChangePage(entries, entries[-1].position, True)
        last = entries[-1].position if entries else cursor
        return records.ChangePage(entries, max(last, feed.position), False)

    def feed_position(self, user_id) -> int:
        """The cursor of the user's feed as it is now: a reader that has
        everything up to now and follows the feed from it misses
        nothing."""
        return retry.call(self._deadline(), self.read_feed_position, user_id)

    def feed_positions(self, user_ids) -> typing.Dict[str, int]:
        """Feed positions of many users (the long-poll wake-up)."""
        return retry.call(self._deadline(), self.read_feed_positions,
                          list(user_ids))

    def expire_tombstones(self, retention_s, batch=500,
                          max_per_user=0) -> int:
        """Drop the tombstones of deletions older than ``retention_s``
        seconds, and a user's oldest beyond their newest ``max_per_user``
        (0: no bound); how many went. A reader behind a dropped tombstone
        is told to read everything again (CursorExpired)."""
        before_us = time.time_ns() // 1000 - int(retention_s * 1e6)
        dropped = 0
        while True:
            count = retry.call(self._deadline(), self.drop_tombstones,
                               before_us, batch)
            dropped += count
            if count < batch:
                break
        while max_per_user:
            count = retry.call(self._deadline(), self.drop_excess_tombstones,
                               max_per_user, batch)
            dropped += count
            if not count:
                break
        return dropped
