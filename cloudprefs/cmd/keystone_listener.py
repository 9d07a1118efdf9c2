"""cloudprefs-keystone-listener: purge a user's data when Keystone
deletes the user, and a project's or domain's layer (API 1.4) when it
deletes the project or the domain.

    cloudprefs-keystone-listener --config-file /etc/cloudprefs/cloudprefs.conf

Listens to Keystone's notifications (``[keystone_listener] exchange`` and
``topic``, on ``[oslo_messaging_notifications] transport_url``) in a
queue of its own (``[keystone_listener] pool``) and handles
``identity.user.deleted`` (``identity.project.deleted``,
``identity.domain.deleted``), basic or CADF: Keystone is asked whether the
user (project, domain) is gone indeed (oslo.messaging does not
authenticate senders, and anyone with the bus account could send the
message), then every container and the usage of that user (that
layer) are deleted, then the message is acknowledged. A message about a
user Keystone still has is logged and dropped. A purge that cannot be
done now (the database or Keystone is down) leaves the message on the
queue for later; a listener killed mid-purge gets the message again when
it comes back, as it was never
acknowledged. Each purge is logged with the user id and announced as
``cloudprefs.user.purge`` (``cloudprefs.project.purge``,
``cloudprefs.domain.purge``).
"""

import logging
import signal
import sys
import threading
import time

# First: it picks oslo.service's threading backend, which oslo.messaging's
# listener is built on.
from cloudprefs import notifications

import oslo_messaging

from cloudprefs import logsafe
from cloudprefs import purge
from cloudprefs import service
from cloudprefs import storage
from cloudprefs.storage import owners
from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)
SERVICE_NAME = 'cloudprefs-keystone-listener'
REQUEUE_PAUSE = 1.0


class UserDeletedEndpoint:
    """oslo.messaging endpoint of Keystone's deletions of users,
    projects and domains."""

    filter_rule = oslo_messaging.NotificationFilter(
        event_type='^(%s)$' % '|'.join(
            event.replace('.', r'\.') for event in purge.DELETED_EVENTS))

    def __init__(self, driver, notifier, users):
        self._driver = driver
        self._notifier = notifier
        self._users = users     # purge.KeystoneUsers

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        layer = purge.DELETED_EVENTS.get(event_type)
        owner_id = purge.deleted_user_id(payload)
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
        except purge.KeystoneError as error:
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = service.prepare_conf(argv, command_line=False)
    driver = storage.get_driver(conf)
    driver.prepare()
    notifier = notifications.Notifications(conf, service=SERVICE_NAME)
    listener = make_listener(conf, driver, notifier,
                             purge.KeystoneUsers(conf))
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    listener.start()
    LOG.info('Listening for %s on exchange %s, topic %s, pool %s',
             ', '.join(purge.DELETED_EVENTS), conf.keystone_listener.exchange,
             conf.keystone_listener.topic, conf.keystone_listener.pool)
    while not stopping.wait(1):
        pass
    LOG.info('Stopping')
    listener.stop()
    listener.wait()
    notifier.flush(timeout=5)
    return 0


if __name__ == '__main__':
    sys.exit(main())
