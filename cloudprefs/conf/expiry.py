"""[expiry] options: containers that expire (API 1.3, X-Delete-At)."""

from oslo_config import cfg

GROUP = 'expiry'

OPTS = [
    cfg.IntOpt('sweep_interval', default=10, min=0,
               help='Seconds between two sweeps of expired containers by '
                    'each cloudprefs-api worker (or WSGI process). An '
                    'expired container is gone for every request from the '
                    'second it expires, swept or not; the sweep deletes '
                    'it, which leaves its tombstone in the change feed, '
                    'sends its cloudprefs.container.delete notification '
                    '(reason: expired) and frees its place in the quota. '
                    '0 leaves it to "cloudprefs-manage expire_containers" '
                    '(e.g. from cron).'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
