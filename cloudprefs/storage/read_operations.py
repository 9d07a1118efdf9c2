"""The reads of the storage interface, mixed into
:class:`cloudprefs.storage.base.StorageDriver`: each one primitive under
the retry policy, with what every driver does alike (expired containers
are missing, whole reads feed the write-guess cache)."""

import typing

from cloudprefs.storage import exceptions
from cloudprefs.storage import records
from cloudprefs.storage import retry

# Containers an export reads per query.
EXPORT_BATCH = 500


class ReadOperations:
    """Listing, reading, usage, export and the health check."""

    def list_containers(self, user_id, limit=None, marker=None, prefix=None):
        """Return the user's container names (see :meth:`list_names`)."""
        return retry.call(self._deadline(), self.list_names, user_id, limit,
                          marker, prefix)

    def list_container_details(self, user_id, limit=None, marker=None,
                               prefix=None):
        """The user's containers as :meth:`list_containers` lists them,
        each ``(name, Meta)`` (see :meth:`list_metas`)."""
        return retry.call(self._deadline(), self.list_metas, user_id, limit,
                          marker, prefix)

    def usage(self, user_id):
        """Return the user's :class:`~records.Usage`."""
        return retry.call(self._deadline(), self.count_usage, user_id)

    def get_container(self, user_id, name) -> records.Read:
        """The whole container; NotFound if it is absent."""
        read = self._live_read(user_id, name, retry.call(
            self._deadline(), self.read, user_id, name))
        if read is None:
            raise exceptions.NotFound()
        return read

    def get_containers(self, user_ids, name
                       ) -> typing.Dict[str, records.Read]:
        """The container ``name`` of each of (at most four) owners that
        has it, by owner, in one round trip where the driver can."""
        found = retry.call(self._deadline(), self.read_many, user_ids, name)
        reads = {}
        for user_id, stored in found.items():
            read = self._live_read(user_id, name, stored)
            if read is not None:
                reads[user_id] = read
        return reads

    def _live_read(self, user_id, name, stored):
        """The Read of a whole container as stored, remembered as the
        next write's guess; None when it is absent or expired."""
        if stored is None or stored.expired:
            return None
        self._recent.remember(user_id, name, stored)
        return records.Read(stored.text, stored.revision, stored.modified_us,
                            stored.expires_at)

    def get_meta(self, user_id, name) -> records.Meta:
        """The container's revision, time and size; NotFound if absent."""
        meta = retry.call(self._deadline(), self.read_meta, user_id, name)
        if meta is None or meta.expired:
            raise exceptions.NotFound()
        return meta

    def get_value(self, user_id, name, path) -> records.Read:
        """The value at the key ``path``; NotFound for a missing
        container, a missing key or a path through a value that is not an
        object."""
        found = retry.call(self._deadline(), self.read_path, user_id, name,
                           path)
        if found is None or found.text is None or found.meta.expired:
            raise exceptions.NotFound()
        return records.Read(found.text, found.meta.revision,
                            found.meta.modified_us, found.meta.expires_at)

    def export_containers(self):
        """Yield ``(user_id, name, Read)`` for every stored container,
        ordered by user id then name, in batches (never all in memory).
        Not a snapshot: containers written meanwhile may or may not
        appear."""
        after = None
        while True:
            batch = retry.call(self._deadline(), self.list_stored, after,
                               EXPORT_BATCH)
            for user_id, name, stored in batch:
                yield user_id, name, records.Read(
                    stored.text, stored.revision, stored.modified_us,
                    stored.expires_at)
            if len(batch) < EXPORT_BATCH:
                return
            after = batch[-1][:2]

    def check_health(self):
        """Raise a StorageError unless the database answers within
        ``[database] timeout``."""
        retry.call(retry.Deadline(self.wait_timeout), self.ping)
