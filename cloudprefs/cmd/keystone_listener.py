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

# First: it picks oslo.service's threading backend, which oslo.messaging's
# listener is built on.
from cloudprefs import notifications

from cloudprefs.identity import keystone
from cloudprefs.identity import listener as deletions
from cloudprefs.service import startup
from cloudprefs import storage

LOG = logging.getLogger(__name__)
SERVICE_NAME = 'cloudprefs-keystone-listener'


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = startup.prepare_conf(argv, command_line=False)
    driver = storage.get_driver(conf)
    driver.prepare()
    notifier = notifications.Notifications(conf, service=SERVICE_NAME)
    listener = deletions.make_listener(conf, driver, notifier,
                                       keystone.KeystoneUsers(conf))
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    listener.start()
    LOG.info('Listening for %s on exchange %s, topic %s, pool %s',
             ', '.join(deletions.DELETED_EVENTS),
             conf.keystone_listener.exchange, conf.keystone_listener.topic,
             conf.keystone_listener.pool)
    while not stopping.wait(1):
        pass
    LOG.info('Stopping')
    listener.stop()
    listener.wait()
    notifier.flush(timeout=5)
    return 0


if __name__ == '__main__':
    sys.exit(main())
