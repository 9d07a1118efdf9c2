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
    cfg.IntOpt('max_tombstones_per_user', default=1000, min=0,
               help='Tombstones (deleted containers) a user\'s change '
                    'feed keeps, the newest; each sweep (expire_interval, '
                    'or "cloudprefs-manage expire_changes") drops the '
                    'older ones, whatever their age, and a client behind '
                    'them gets 410 and reads everything again. They count '
                    'in no quota, so this bounds what a user who creates '
                    'and deletes containers in a loop leaves behind. 0: '
                    'no bound but retention.'),
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
    cfg.IntOpt('max_waiting_per_worker', min=0,
               sample_default='<three quarters of what the server serves '
                              'at once>',
               help='Long-polls and watches one worker process holds at '
                    'once. A held request keeps a thread of a threaded '
                    'server busy (a connection of cloudprefs-api), so '
                    'past this bound a request that would wait is '
                    'answered at once, with Retry-After telling the '
                    'client when to ask again, and the rest stay for '
                    'other requests. Unset, it is three quarters of the '
                    'requests the worker serves at once, keeping at '
                    'least one free: of green_pool_size under '
                    'cloudprefs-api, of the threads under uwsgi or '
                    'mod_wsgi (so uwsgi with threads = 1 holds none); '
                    'under another WSGI server, set it.'),
    cfg.IntOpt('max_waiting_per_user', default=10, min=0,
               help='Long-polls and watches of one user one worker '
                    'process holds at once; past it that user\'s '
                    'requests are answered at once, with Retry-After. '
                    'Enough for a few devices following the feed and '
                    'watching some containers each; it keeps one user '
                    'from taking every place.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
