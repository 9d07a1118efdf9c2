"""Purging the data of users, projects and domains the identity service
deleted.

Two ways lead here: ``cloudprefs-keystone-listener`` hears Keystone's
deletion notifications (:mod:`cloudprefs.identity.listener`), and
``cloudprefs-manage purge_deleted_users`` asks Keystone about every user,
project and domain that has data (for the messages the listener missed).
Both ask Keystone first (:mod:`cloudprefs.identity.keystone`), then purge
through :func:`purge_owner`, which is idempotent.
"""

import logging

from cloudprefs import notifications
from cloudprefs.service import logsafe
from cloudprefs.storage import records

LOG = logging.getLogger(__name__)


def purge_owner(driver, notifier, owner, reason):
    """Delete all the data and usage of ``owner`` (an
    :class:`owners.Owner`: a user, or a project's or domain's layer),
    durably when this returns, and announce ``cloudprefs.<layer>.purge``;
    how many containers went (0 when there were none, or an earlier purge
    took them)."""
    deleted = driver.delete_user(owner.key)
    LOG.info('Purged the data of %s %s (%s): %d containers', owner.layer,
             logsafe.escape(owner.id), reason, deleted)
    event_type, payload = notifications.event_for(
        records.Change('purge', owner.key, None, None, 0, deleted), None)
    payload['reason'] = reason
    notifier.emit({}, event_type, payload)
    return deleted
