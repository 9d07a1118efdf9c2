"""[quota] options: per-user limits."""

from oslo_config import cfg

GROUP = 'quota'

OPTS = [
    cfg.IntOpt('containers_per_user', default=None, min=0,
               help='Most containers one user may have; unset means '
                    'unlimited. A write that would create one more gets '
                    '403 (cloudprefs.quota_exceeded).'),
    cfg.IntOpt('bytes_per_user', default=None, min=0,
               help='Most bytes one user\'s containers may hold, measured as '
                    'compact JSON (as X-Bytes-Used reports); unset means '
                    'unlimited. A write that would grow past it gets 403. '
                    'After enabling a quota on a database used without '
                    'quotas, run "cloudprefs-manage usage_sync".'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
