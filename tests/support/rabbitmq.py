"""The machine's RabbitMQ (tools/test-setup.sh installs and starts it),
with a virtual host of the test run's own, and a collector of the
notifications that arrive on it.

The shared broker is left as it was: the tests only add, and then
delete, their own vhost (``rabbitmqctl``). A broker that is not there
fails the tests.
"""

import os
import subprocess
import tempfile
import threading
import time
import uuid

from oslo_config import cfg
import oslo_messaging

HOST = '127.0.0.1'
PORT = 5672


def rabbitmqctl(*args):
    # rabbitmqctl needs the broker's Erlang cookie: root's or rabbitmq's.
    command = ['rabbitmqctl', *args]
    if os.geteuid() != 0:
        command[:0] = ['sudo', '-n']
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError('rabbitmqctl %s failed (is RabbitMQ running? run '
                           'tools/test-setup.sh): %s'
                           % (' '.join(args), result.stderr.strip()))
    return result.stdout


class VirtualHost:
    """A vhost for one test session: ``url`` is its transport URL."""

    def __init__(self, host=HOST, port=PORT):
        self.name = 'cloudprefs-test-' + uuid.uuid4().hex[:12]
        self.host, self.port = host, port

    def create(self):
        rabbitmqctl('add_vhost', self.name)
        rabbitmqctl('set_permissions', '-p', self.name, 'guest', '.*', '.*',
                    '.*')
        return self

    def delete(self):
        rabbitmqctl('delete_vhost', self.name)

    def url(self, port=None):
        return 'rabbit://guest:guest@%s:%d/%s' % (self.host,
                                                  port or self.port,
                                                  self.name)


def transport_conf(url, control_exchange='openstack'):
    """An oslo.config object for oslo.messaging on ``url``, sending to
    ``control_exchange``. (oslo.messaging registers its options itself,
    later: the values come from a file, read whatever registers them.)"""
    with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                     delete=False) as conf_file:
        conf_file.write('[DEFAULT]\ntransport_url = %s\n'
                        'control_exchange = %s\n'
                        '[oslo_messaging_rabbit]\n'
                        'amqp_durable_queues = true\n'
                        % (url, control_exchange))
    conf = cfg.ConfigOpts()
    conf(['--config-file', conf_file.name], project='cloudprefs-tests',
         default_config_files=[])
    os.unlink(conf_file.name)
    return conf


class Collector:
    """Receives every notification on ``exchange``/``topic`` in a queue of
    its own, from now on."""

    def __init__(self, url, exchange='openstack', topic='notifications'):
        self.messages = []
        self._condition = threading.Condition()
        conf = transport_conf(url, exchange)
        transport = oslo_messaging.get_notification_transport(conf)
        self._listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(exchange=exchange,
                                              topic=topic)],
            [self], executor='threading',
            pool='collector-' + uuid.uuid4().hex[:8])
        self._listener.start()

    def _record(self, priority, ctxt, publisher_id, event_type, payload):
        with self._condition:
            self.messages.append({'priority': priority, 'context': ctxt,
                                  'publisher_id': publisher_id,
                                  'event_type': event_type,
                                  'payload': payload})
            self._condition.notify_all()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('info', ctxt, publisher_id, event_type, payload)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('warn', ctxt, publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('error', ctxt, publisher_id, event_type, payload)

    def wait_for(self, predicate, timeout=10.0):
        """The first message for which ``predicate`` is true, waiting up
        to ``timeout`` seconds; None if none came."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)

    def of_type(self, event_type):
        with self._condition:
            return [message for message in self.messages
                    if message['event_type'] == event_type]

    def stop(self):
        self._listener.stop()
        self._listener.wait()


def publish(url, exchange, publisher_id, event_type, payload):
    """Send one notification, as another service would."""
    conf = transport_conf(url, exchange)
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(
        transport, publisher_id=publisher_id, driver='messagingv2',
        topics=['notifications'])
    notifier.info({}, event_type, payload)
    transport.cleanup()
