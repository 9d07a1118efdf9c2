"""Purging the data of users, projects and domains the identity service
deleted.

Two ways lead here: ``cloudprefs-keystone-listener`` hears Keystone's
``identity.user.deleted`` (and ``identity.project.deleted``,
``identity.domain.deleted``: the shared layers of API 1.4) notification,
and ``cloudprefs-manage purge_deleted_users`` asks Keystone about every
user, project and domain that has data (for the messages the listener
missed). Both ask Keystone first (:mod:`cloudprefs.identity.keystone`),
then purge through :func:`purge_owner`, which is idempotent.
"""

import logging

from cloudprefs import notifications
from cloudprefs.service import logsafe
from cloudprefs.storage import owners
from cloudprefs.storage import records

LOG = logging.getLogger(__name__)

USER_DELETED = 'identity.user.deleted'
# Keystone's deletion events, and the layer each one empties.
DELETED_EVENTS = {USER_DELETED: owners.USER,
                  'identity.project.deleted': owners.PROJECT,
                  'identity.domain.deleted': owners.DOMAIN}


def deleted_user_id(payload):
    """The id of the deleted user (project, domain) in a Keystone
    notification payload,
    basic (``{"resource_info": id}``) or CADF (``target.id``, with
    ``resource_info`` too); None for anything else or a failed
    deletion."""
    if not isinstance(payload, dict):
        return None
    if payload.get('outcome', 'success') != 'success':
        return None
    user_id = payload.get('resource_info')
    target = payload.get('target')
    if not user_id and isinstance(target, dict):
        user_id = target.get('id')
    if isinstance(user_id, str) and user_id:
        return user_id
    return None


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


def purge_user(driver, notifier, user_id, reason):
    """:func:`purge_owner` of a user."""
    return purge_owner(driver, notifier, owners.Owner(owners.USER, user_id),
                       reason)
