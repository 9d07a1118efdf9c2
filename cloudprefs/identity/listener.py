"""Keystone's deletion notifications, heard by
``cloudprefs-keystone-listener``: each deletion of a user, a project or a
domain Keystone confirms purges that owner's data; one that cannot be
handled now goes back on the queue."""

import logging
import time

# First: it picks oslo.service's threading backend, which oslo.messaging's
# listener is built on.
from cloudprefs import notifications  # noqa: F401

import oslo_messaging

from cloudprefs.identity import keystone
from cloudprefs.identity import purge
from cloudprefs.service import logsafe
from cloudprefs.storage import exceptions
from cloudprefs.storage import owners

LOG = logging.getLogger(__name__)
REQUEUE_PAUSE = 1.0

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


class UserDeletedEndpoint:
    """oslo.messaging endpoint of Keystone's deletions of users,
    projects and domains."""

    filter_rule = oslo_messaging.NotificationFilter(
        event_type='^(%s)$' % '|'.join(
            event.replace('.', r'\.') for event in DELETED_EVENTS))

    def __init__(self, driver, notifier, users):
        self._driver = driver
        self._notifier = notifier
        self._users = users     # keystone.KeystoneUsers

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        layer = DELETED_EVENTS.get(event_type)
        owner_id = deleted_user_id(payload)
        if layer is None or owner_id is None:
            LOG.warning('Ignoring an %s notification without an id '
                        '(or of a failed deletion) from %s',
                        event_type, publisher_id)
            return oslo_messaging.NotificationResult.HANDLED
        owner = owners.Owner(layer, owner_id)
        try:
            if self._users.exists(owner_id, layer):
                LOG.warning('Ignoring an %s notification from %s: Keystone '
                            'still has %s %s', event_type, publisher_id,
                            layer, logsafe.escape(owner_id))
                return oslo_messaging.NotificationResult.HANDLED
        except keystone.KeystoneError as error:
            LOG.warning('Cannot ask Keystone whether %s %s is deleted '
                        '(%s); the message goes back on the queue',
                        layer, logsafe.escape(owner_id), error)
            time.sleep(REQUEUE_PAUSE)
            return oslo_messaging.NotificationResult.REQUEUE
        try:
            purge.purge_owner(self._driver, self._notifier, owner,
                              'deleted in Keystone')
        except exceptions.StorageError as error:
            LOG.warning('Could not purge the data of deleted %s %s now '
                        '(%s); the message goes back on the queue',
                        layer, logsafe.escape(owner_id), error)
            time.sleep(REQUEUE_PAUSE)   # not a busy loop while it lasts
            return oslo_messaging.NotificationResult.REQUEUE
        return oslo_messaging.NotificationResult.HANDLED


def make_listener(conf, driver, notifier, users):
    transport = oslo_messaging.get_notification_transport(conf)
    targets = [oslo_messaging.Target(exchange=conf.keystone_listener.exchange,
                                     topic=conf.keystone_listener.topic)]
    return oslo_messaging.get_notification_listener(
        transport, targets, [UserDeletedEndpoint(driver, notifier, users)],
        executor='threading', allow_requeue=True,
        pool=conf.keystone_listener.pool)
