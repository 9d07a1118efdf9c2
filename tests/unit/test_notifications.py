"""The notifier's own logic, with a fake oslo.messaging Notifier (the
functional tests send through a real RabbitMQ)."""

import threading

from oslo_config import cfg
from oslo_context import context as oslo_context

from cloudprefs import conf as cloudprefs_conf
from cloudprefs import notifications
from cloudprefs.storage import owners
from cloudprefs.storage import records


def make_conf(**notifications_options):
    conf = cfg.ConfigOpts()
    cloudprefs_conf.register_opts(conf)
    conf([], default_config_files=[])
    for name, value in notifications_options.items():
        conf.set_override(name, value, group='notifications')
    return conf


class FakeNotifier:
    def __init__(self, gate=None):
        self.sent = []
        self.gate = gate

    def info(self, context, event_type, payload):
        if self.gate is not None:
            self.gate.wait()
        self.sent.append((context, event_type, payload))


def enabled(conf, notifier):
    """A sender that sends through ``notifier`` from its own threads."""
    sender = notifications.Notifications(conf, host='h1')
    sender.enabled, sender._notifier = True, notifier
    return sender


def test_events_of_changes():
    context = oslo_context.RequestContext(user_id='admin', project_id='p',
                                          request_id='req-1')
    assert notifications.event_for(
        records.Change('create', 'u', 'c', 17, 9), context) == (
        'cloudprefs.container.create',
        {'user_id': 'u', 'layer': 'user', 'layer_id': 'u',
         'project_id': 'p', 'request_id': 'req-1',
         'initiator_user_id': 'admin', 'container': 'c', 'revision': '17',
         'bytes': 9})
    event_type, payload = notifications.event_for(
        records.Change('delete', 'u', 'c', None, 0), context)
    assert event_type == 'cloudprefs.container.delete'
    assert (payload['revision'], payload['bytes']) == (None, 0)
    assert 'reason' not in payload
    # An expired container's deletion, by a sweep: no request made it.
    event_type, payload = notifications.event_for(
        records.Change('delete', 'u', 'c', None, 0, reason='expired'), None)
    assert event_type == 'cloudprefs.container.delete'
    assert payload == {'user_id': 'u', 'layer': 'user', 'layer_id': 'u',
                       'project_id': None,
                       'request_id': None, 'initiator_user_id': None,
                       'container': 'c', 'revision': None, 'bytes': 0,
                       'reason': 'expired'}
    assert notifications.event_for(
        records.Change('purge', 'u', None, None, 0, 3), context) == (
        'cloudprefs.user.purge',
        {'user_id': 'u', 'layer': 'user', 'layer_id': 'u',
         'project_id': 'p', 'request_id': 'req-1',
         'initiator_user_id': 'admin', 'containers': 3})


def test_events_name_the_layer():
    context = oslo_context.RequestContext(user_id='manager',
                                          project_id='p', request_id='r')
    project = owners.Owner(owners.PROJECT, 'p').key
    event_type, payload = notifications.event_for(
        records.Change('update', project, 'defaults', 5, 2), context)
    assert event_type == 'cloudprefs.container.update'
    assert (payload['user_id'], payload['layer'], payload['layer_id'],
            payload['initiator_user_id']) == (None, 'project', 'p',
                                              'manager')
    cloud = owners.Owner(owners.CLOUD, None).key
    event_type, payload = notifications.event_for(
        records.Change('purge', cloud, None, None, 0, 2), context)
    assert event_type == 'cloudprefs.cloud.purge'
    assert (payload['layer'], payload['layer_id']) == ('cloud', None)
    domain = owners.Owner(owners.DOMAIN, 'd').key
    assert notifications.event_for(
        records.Change('purge', domain, None, None, 0, 1), None)[0] == \
        'cloudprefs.domain.purge'


def test_disabled_by_default_and_sends_nothing():
    sender = notifications.Notifications(make_conf())
    assert not sender.enabled
    assert sender.publisher_id.startswith('cloudprefs-api.')
    sender.storage_changed(records.Change('create', 'u', 'c', 1, 2))
    assert sender._queue is None
    # Nothing to send with: no oslo.messaging transport, no relay.
    assert sender._notifier is None and sender._relay is None


def test_sent_with_the_context_without_its_token():
    fake = FakeNotifier()
    sender = enabled(make_conf(), fake)
    oslo_context.RequestContext(user_id='u', auth_token='secret-token',
                                request_id='req-2')
    sender.storage_changed(records.Change('update', 'u', 'c', 5, 3))
    assert sender.flush(timeout=5)
    [(context, event_type, payload)] = fake.sent
    assert event_type == 'cloudprefs.container.update'
    assert context['request_id'] == 'req-2'
    assert 'secret-token' not in repr(context)
    assert sender.sent == 1


def test_a_full_queue_drops_and_counts_without_blocking():
    gate = threading.Event()
    fake = FakeNotifier(gate)
    sender = enabled(make_conf(queue_size=2, sender_threads=1), fake)
    for number in range(10):
        sender.emit({}, 'cloudprefs.container.update', {'n': number})
    # One in the sender's hands, two queued, the rest dropped.
    assert sender.dropped in (7, 8)
    gate.set()
    assert sender.flush(timeout=5)
    assert len(fake.sent) == 10 - sender.dropped


RELAY_NEVER_WAITS = '''
import sys
import eventlet
eventlet.monkey_patch()
from oslo_config import cfg
from cloudprefs import conf as cloudprefs_conf
from cloudprefs.notifications import pipe as notification_pipe
conf = cfg.ConfigOpts()
cloudprefs_conf.register_opts(conf)
conf([], default_config_files=[])
relay = notification_pipe.Relay(conf, 'cloudprefs-api.test')
# A relay that never reads: its pipe fills up.
relay._command = [sys.executable, '-c', 'import time; time.sleep(60)']
outcomes = [relay.send({}, 'e', {'x': 'y' * 200}) for _ in range(20000)]
relay._process.kill()
print(outcomes.count(None), outcomes.count('dropped'))
'''


def test_a_full_relay_pipe_drops_instead_of_waiting_under_eventlet():
    """eventlet's green os.write waits for a full pipe to drain; the
    worker must drop and count instead (the subprocess would hang)."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, '-c', RELAY_NEVER_WAITS],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    handed, dropped = map(int, result.stdout.split())
    assert handed > 0 and dropped > 0
    assert handed + dropped == 20000
