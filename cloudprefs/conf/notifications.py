"""[notifications] and [keystone_listener] options.

Where notifications go is oslo.messaging's own configuration:
``[oslo_messaging_notifications] driver`` (none by default: nothing is
sent), ``transport_url`` and ``topics``.
"""

from oslo_config import cfg

GROUP = 'notifications'
LISTENER_GROUP = 'keystone_listener'

OPTS = [
    cfg.IntOpt('queue_size', default=1000, min=1,
               help='Notifications waiting to be sent, per process. A write '
                    'never waits for the message bus: when it is slow or '
                    'unreachable and this many are waiting, newer ones are '
                    'dropped and counted in a warning.'),
    cfg.BoolOpt('relay', default=True,
                help='Send the API\'s notifications from a relay process '
                     'that each worker starts (it costs the worker a few '
                     'µs per notification instead of the ~300 µs of CPU '
                     'oslo.messaging spends on each); false sends them '
                     'from threads of the worker.'),
    cfg.IntOpt('relay_niceness', default=10, min=0, max=19,
               help='Niceness the relay process adds to its own: on a busy '
                    'machine requests come first, and notifications the '
                    'relay has no CPU left for are dropped and counted.'),
    cfg.IntOpt('sender_threads', default=8, min=1,
               help='Threads (green threads under cloudprefs-api) sending '
                    'notifications, per process. oslo.messaging waits for '
                    'the broker to confirm each message, so one sender '
                    'sends at most one message per round trip; several '
                    'keep up with a busy worker.'),
]

LISTENER_OPTS = [
    cfg.StrOpt('exchange', default='keystone',
               help='Exchange Keystone sends its notifications to (its '
                    'control_exchange).'),
    cfg.StrOpt('topic', default='notifications',
               help='Topic of Keystone\'s notifications (its '
                    '[oslo_messaging_notifications] topics).'),
    cfg.StrOpt('pool', default='cloudprefs-keystone-listener',
               help='Listener pool: the name of the queue this service '
                    'reads, so that it gets its own copy of every message '
                    'beside other consumers of the topic. With '
                    '[oslo_messaging_rabbit] amqp_durable_queues = true (as '
                    'Keystone\'s own setting must be) the queue outlives a '
                    'broker restart.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)
    conf.register_opts(LISTENER_OPTS, group=LISTENER_GROUP)


def list_opts():
    return [(GROUP, OPTS), (LISTENER_GROUP, LISTENER_OPTS)]
