"""[quota] options: per-user limits (each shared layer has them too)."""

from oslo_config import cfg

GROUP = 'quota'

UNLIMITED = -1

OPTS = [
    cfg.IntOpt('containers_per_user', default=1000, min=UNLIMITED,
               help='Most containers one user may have; -1 for unlimited. '
                    'A write that would create one more gets 403 '
                    '(cloudprefs.quota_exceeded). The default keeps one '
                    'user from filling a shared service. A project\'s, a '
                    'domain\'s and the cloud\'s layer (API 1.4) each have '
                    'the same limit, counted apart.'),
    cfg.IntOpt('bytes_per_user', default=64 * 1024 * 1024, min=UNLIMITED,
               help='Most bytes one user\'s containers may hold, measured as '
                    'compact JSON (as X-Bytes-Used reports); -1 for '
                    'unlimited. A write that would grow past it gets 403. '
                    'Usage is recorded only while a quota is set: after '
                    'setting one on a database used without, or with '
                    'quotas switched off for a while, run '
                    '"cloudprefs-manage usage_sync".'),
]


def limit(value):
    """An option's value as a limit: None for unlimited."""
    return None if value is None or value < 0 else value


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
