"""Notifications of changed data on the message bus (oslo.messaging).

One notification per durable change, sent after the write and never in
its way: the storage driver announces a change (see
:meth:`cloudprefs.storage.base.StorageDriver.add_change_listener`), the
:class:`Notifications` of the process turns it into an event and puts it
in a bounded buffer, and a background thread sends from there. When the
bus is slow or unreachable the buffer fills, and further events are
dropped and counted in a warning, so a request never waits for RabbitMQ.

The package: this module (the events and a process's notifier),
:mod:`~cloudprefs.notifications.pipe` (an API worker's end of its relay)
and :mod:`~cloudprefs.notifications.relay` (the relay process).

Events (``event_type``, priority INFO, publisher ``<service>.<host>``):

``cloudprefs.container.create`` / ``.update`` / ``.delete``
    payload: ``user_id`` (whose data), ``container``, ``revision`` (the
    container's ETag value after the write; None after a delete),
    ``bytes`` (its size in compact JSON after the write; 0 after a
    delete), and from the request: ``project_id``, ``request_id`` and
    ``initiator_user_id`` (who asked: an administrator acting with
    ``?user_id=`` differs from ``user_id``). A delete nobody asked for
    also has ``reason``: ``expired`` (its ``X-Delete-At`` came; the
    request fields are then None).
``cloudprefs.user.purge``
    every container of a user deleted (``DELETE /v1``, or the Keystone
    listener after the user's deletion): ``user_id``, ``containers``
    (how many went), ``project_id``, ``request_id``,
    ``initiator_user_id``.
``cloudprefs.project.purge`` / ``cloudprefs.domain.purge`` /
``cloudprefs.cloud.purge``
    the same, of a shared layer (API 1.4).

Every payload names the layer it concerns: ``layer`` (``user``,
``project``, ``domain`` or ``cloud``) and ``layer_id`` (the user,
project or domain id; None for the cloud). ``user_id`` is the user's id
for the user layer, None for a shared one.

Values are never sent.
"""

import logging
import os
import queue
import socket
import threading
import time

from oslo_context import context as oslo_context
from oslo_service import backend as oslo_service_backend


def _oslo_service_on_threads():
    """oslo.messaging's listeners are oslo.service services, whose classes
    come from the backend oslo.service loads when it is first imported:
    eventlet, unless told otherwise, and eventlet is on its way out of
    OpenStack (it may not even be installed). Everything of ours that
    uses oslo.messaging runs on native threads, so that backend is chosen
    before oslo.messaging is imported."""
    if oslo_service_backend.get_backend_type() is None:
        oslo_service_backend.init_backend(
            oslo_service_backend.BackendType.THREADING)


_oslo_service_on_threads()

import oslo_messaging  # noqa: E402
from oslo_messaging import opts as oslo_messaging_opts  # noqa: E402

from cloudprefs.notifications import pipe  # noqa: E402
from cloudprefs.storage import owners  # noqa: E402

LOG = logging.getLogger(__name__)

EVENT_PREFIX = 'cloudprefs.'
# How often, at most, the counts of lost notifications are logged.
WARNING_INTERVAL = 10.0
# oslo.messaging's notification drivers never raise: a message they could
# not send is logged there, with a traceback and the payload, and gone.
DRIVER_LOGGER = 'oslo_messaging.notify.messaging'
DRIVER_FAILURE = 'Could not send notification'


class _SendFailures(logging.Filter):
    """Takes the driver's "could not send" records out of the log and
    tells the sending thread its message was lost, so that losses are
    counted and summed up in one warning instead of a traceback each."""

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    def filter(self, record):
        if str(record.msg).startswith(DRIVER_FAILURE):
            self._local.failed = True
            return False
        return True

    def begin(self):
        self._local.failed = False

    def failed(self):
        return getattr(self._local, 'failed', False)


_send_failures = _SendFailures()
logging.getLogger(DRIVER_LOGGER).addFilter(_send_failures)


def configured_drivers(conf):
    """The notification drivers ``[oslo_messaging_notifications] driver``
    names, but ``noop``. The options are oslo.messaging's, registered here
    so they can be read before (or without) making a transport; and
    oslo.messaging's Notifier.is_enabled() is true even with no driver,
    which sends nothing."""
    group = 'oslo_messaging_notifications'
    conf.register_opts(dict(oslo_messaging_opts.list_opts())[group],
                       group=group)
    return set(conf[group].driver) - {'noop'}


def event_for(change, context):
    """``(event_type, payload)`` of a :class:`records.Change` made by the
    request of ``context`` (an oslo.context RequestContext, or None when
    no request made it)."""
    owner = owners.parse(change.user_id)
    payload = {
        'user_id': owner.id if owner.layer == owners.USER else None,
        'layer': owner.layer,
        'layer_id': owner.id,
        'project_id': getattr(context, 'project_id', None),
        'request_id': getattr(context, 'request_id', None),
        'initiator_user_id': getattr(context, 'user_id', None),
    }
    if change.action == 'purge':
        payload['containers'] = change.containers
        return EVENT_PREFIX + owner.layer + '.purge', payload
    payload.update(container=change.container,
                   revision=(None if change.revision is None
                             else str(change.revision)),
                   bytes=change.bytes)
    if change.reason is not None:
        payload['reason'] = change.reason
    return EVENT_PREFIX + 'container.' + change.action, payload


class Notifications:
    """The notifier of one process: ``[oslo_messaging_notifications]``
    says where to; :meth:`storage_changed` is the driver's listener.

    With ``relay`` (the API's way, ``[notifications] relay``), each
    notification is handed to a relay process of this process's own
    (:mod:`cloudprefs.notifications.relay`) that sends it; otherwise
    sender threads of this process send from a bounded queue.

    Not enabled (the default ``driver``, none) it sends nothing and costs
    one attribute check per change.
    """

    def __init__(self, conf, service='cloudprefs-api', host=None,
                 relay=False, publisher_id=None):
        self.publisher_id = publisher_id or '%s.%s' % (
            service, host or socket.gethostname())
        self._queue_size = conf.notifications.queue_size
        self._sender_threads = conf.notifications.sender_threads
        self.enabled = bool(configured_drivers(conf))
        # Who sends: the relay process, or this process's Notifier
        # (neither, and no transport at all, when nothing is sent).
        self._relay = None
        self._notifier = None
        if self.enabled and relay:
            self._relay = pipe.Relay(conf, self.publisher_id)
        elif self.enabled:
            self._notifier = oslo_messaging.Notifier(
                oslo_messaging.get_notification_transport(conf),
                publisher_id=self.publisher_id)
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._pid = None
        self._queue = None
        self._last_warning = 0.0

    def storage_changed(self, change):
        """The storage driver's change listener."""
        if not self.enabled:
            return
        context = oslo_context.get_current()
        event_type, payload = event_for(change, context)
        # The context travels without its token and service credentials.
        self.emit(context.redacted_copy().to_dict()
                  if context is not None else {}, event_type, payload)

    def emit(self, context_dict, event_type, payload):
        """Queue one notification; never blocks."""
        if not self.enabled:
            return
        if self._relay is not None:
            outcome = self._relay.send(context_dict, event_type, payload)
            if outcome is not None:
                self._count(outcome)
                self._warn_lost()
            return
        try:
            self._sender_queue().put_nowait((context_dict, event_type,
                                             payload))
            return
        except queue.Full:
            self._count('dropped')
        self._warn_lost()

    def flush(self, timeout=10.0):
        """Wait until the queued notifications are sent (or timeout):
        for short-lived commands before they exit."""
        if self._queue is None:
            return True
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _sender_queue(self):
        # One sender per process: a worker forked from the master starts
        # its own on its first notification.
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.Queue(maxsize=self._queue_size)
                    for number in range(self._sender_threads):
                        threading.Thread(
                            target=self._send_forever, args=(self._queue,),
                            name='notifications-%d' % number,
                            daemon=True).start()
                    self._pid = os.getpid()
        return self._queue

    def _send_forever(self, pending):
        while True:
            context_dict, event_type, payload = pending.get()
            try:
                # The driver retries as [oslo_messaging_notifications]
                # retry says while the queue takes new ones.
                _send_failures.begin()
                self._notifier.info(context_dict, event_type, payload)
                if _send_failures.failed():
                    self._count('failed')
                    self._warn_lost()
                else:
                    self._count('sent')
            except Exception:
                self._count('failed')
                LOG.exception('Could not send notification %s', event_type)
            finally:
                pending.task_done()

    def _count(self, counter):
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def warn_if_lost(self):
        """Log the counts now if anything was lost (before exiting)."""
        if self.failed or self.dropped:
            self._last_warning = 0.0
            self._warn_lost()

    def _warn_lost(self):
        now = time.monotonic()
        if now - self._last_warning >= WARNING_INTERVAL:
            self._last_warning = now
            if self._relay is not None:
                LOG.warning('Notifications lost so far: %d with the relay '
                            'process gone, %d dropped with its pipe full '
                            '(is the message bus reachable?)',
                            self.failed, self.dropped)
                return
            LOG.warning('Notifications lost so far: %d could not be sent '
                        '(is the message bus reachable?), %d dropped with '
                        'the queue full ([notifications] queue_size = %d); '
                        '%d sent.', self.failed, self.dropped,
                        self._queue_size, self.sent)
