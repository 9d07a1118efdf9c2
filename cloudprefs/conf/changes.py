"""[changes] options: the per-user change feed and its long-poll."""

from oslo_config import cfg

GROUP = 'changes'

OPTS = [
    cfg.IntOpt('retention', default=14 * 24 * 3600, min=60,
               help='Seconds a deleted container\'s tombstone stays in its '
                    'user\'s change feed. A client whose cursor is older '
                    'than a dropped tombstone gets 410 '
                    '(cloudprefs.cursor_expired) and reads everything '
                    'again, so this is how long a device may stay offline '
                    'and still catch up from the feed.'),
    cfg.IntOpt('expire_interval', default=3600, min=0,
               help='Seconds between two sweeps of expired tombstones by '
                    'each cloudprefs-api worker; 0 leaves it to '
                    '"cloudprefs-manage expire_changes" (e.g. from cron).'),
    cfg.IntOpt('max_wait', default=60, min=0,
               help='Longest wait, in seconds, a long-poll (GET '
                    '/v1?since=...&wait=...) or a watch (Prefer: wait=...) '
                    'is held; longer requests are held this long. Keep it '
                    'below the idle timeouts of proxies in front of the '
                    'service. 0 answers every request at once.'),
    cfg.FloatOpt('poll_interval', default=0.5, min=0.05, max=10,
                 help='Seconds between two checks, by each worker, of the '
                      'feed positions of the users it holds long-polls '
                      'for: one query a check, whatever the number of '
                      'waiting clients. Writes made by the same worker '
                      'wake its waiters at once; writes made elsewhere '
                      'are seen within this interval.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
