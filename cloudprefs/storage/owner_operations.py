"""The operations of the storage interface on an owner's data as a whole
(a user's, or a shared layer's), mixed into
:class:`cloudprefs.storage.base.StorageDriver`."""

from cloudprefs.storage import owners
from cloudprefs.storage import records
from cloudprefs.storage import retry


class OwnerOperations:
    """Deleting, purging and listing whole owners, on the driver's
    primitives (``delete_all``, ``purge_user``, ``list_user_ids``)."""

    def delete_all_containers(self, user_id) -> records.Written:
        """Delete every container of the user (``DELETE /v1``), leaving
        tombstones in their feed; the feed position after it (None when
        there was nothing to delete)."""
        self._recent.forget_user(user_id)
        deleted, position = retry.call(self._deadline(), self.delete_all,
                                       user_id)
        if not deleted:
            return records.Written(None, None)
        self._announce(records.Change('purge', user_id, None, None, 0,
                                      deleted, position))
        return records.Written(None, position)

    def delete_user(self, user_id):
        """Remove every trace of the user (containers, usage, change
        feed), as when the identity service deleted them; how many
        containers went."""
        self._recent.forget_user(user_id)
        deleted = retry.call(self._deadline(), self.purge_user, user_id)
        if deleted:
            self._announce(records.Change('purge', user_id, None, None, 0,
                                          deleted))
        return deleted

    def list_users(self):
        """Every user id that has data (containers or usage); not the
        shared layers, which are kept under keys no user id can be."""
        return [key for key in retry.call(self._deadline(),
                                          self.list_user_ids)
                if owners.is_user(key)]

    def list_layers(self, layer):
        """The ids of the projects (``owners.PROJECT``) or domains
        (``owners.DOMAIN``) whose layer has data."""
        found = (owners.parse(key) for key in retry.call(
            self._deadline(), self.list_user_ids) if not owners.is_user(key))
        return [owner.id for owner in found if owner.layer == layer]
