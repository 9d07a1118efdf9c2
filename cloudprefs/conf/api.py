"""[api] options: limits on what a request may store."""

from oslo_config import cfg

GROUP = 'api'

OPTS = [
    cfg.IntOpt('max_depth', default=32, min=1, max=100,
               help='Deepest nesting a write may create, counted from the '
                    'container: each key-path segment plus each object or '
                    'array level of the value. Kept well below MongoDB\'s '
                    'own nesting limit.'),
    cfg.IntOpt('max_request_body_size', default=1024 * 1024, min=1,
               help='Largest request body in bytes; larger ones get 413.'),
    cfg.IntOpt('max_container_size', default=1024 * 1024, min=2,
               help='Largest container in bytes, measured as compact JSON. '
                    'A write that would grow a container past it gets 413. '
                    'Each write of a container parses and serializes it '
                    'whole, work no other request of the process can '
                    'interrupt: for 1 MiB of small objects about 6 ms to '
                    'parse and 30 ms for a whole write on a 2-vCPU VM, 30 '
                    'and 150 ms for 4 MiB. Reads of a path, HEAD and '
                    'conditional reads do not parse it. At most 16 MiB '
                    '(MongoDB\'s document limit).'),
    cfg.IntOpt('max_limit', default=10000, min=1,
               help='Most container names one GET /v1 returns, with or '
                    'without ?limit=; a Link: rel="next" header says when '
                    'more remain.'),
    cfg.IntOpt('retry_after', default=5, min=1,
               help='Seconds a client is told to wait (Retry-After) when '
                    'the database is unavailable.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
