"""[database] options: where containers are stored."""

from oslo_config import cfg

GROUP = 'database'

OPTS = [
    cfg.StrOpt('connection', secret=True,
               help='Database URL; its scheme picks the storage driver: '
                    'mongodb://host[:port][,host...]/dbname?options, '
                    'sqlite:////absolute/path.db, '
                    'mysql+pymysql://user:password@host/dbname (MariaDB '
                    '10.11+, MySQL 8) or '
                    'postgresql+psycopg2://user:password@host/dbname '
                    '(PostgreSQL 13+). Unset '
                    'means an embedded SQLite file under state_path, which '
                    'creates its own schema on first start.'),
    cfg.FloatOpt('timeout', default=5.0, min=0.1,
                 help='Seconds one attempt waits to find a server, connect, '
                      'or get a pooled connection, and never past the '
                      'operation\'s deadline (operation_timeout); the '
                      'health check\'s whole deadline.'),
    cfg.FloatOpt('operation_timeout', default=10.0, min=0.1,
                 help='Deadline of one storage operation, every attempt '
                      'included: transient errors (deadlocks, a lost '
                      'connection, a MongoDB primary stepping down) are '
                      'retried with growing pauses until it, then the '
                      'request fails with 503 and Retry-After. No attempt '
                      'waits past it: each is cut to what is left (libpq '
                      'connects for no less than 2 s, so with less left a '
                      'new PostgreSQL connection is not tried). Each '
                      'statement is also stopped by the database after '
                      'this long.'),
    cfg.StrOpt('mongodb_write_concern', default='majority',
               help='MongoDB write concern "w" for every write: "majority" '
                    '(safe on a replica set; a standalone server treats it '
                    'as 1) or a number of members.'),
    cfg.IntOpt('mongodb_max_pool_size', default=100, min=1,
               help='Most connections one process opens to each MongoDB '
                    'server.'),
    cfg.IntOpt('max_pool_size', default=32, min=1,
               help='Connections one process may open to a SQL server '
                    '(MariaDB/MySQL, PostgreSQL), as requests need them; '
                    'they stay open between requests. A request that finds '
                    'them all in use waits for one (up to timeout). The '
                    'default lets one cloudprefs-api worker serve 32 '
                    'requests at the database at once without waiting, '
                    'which measured faster than fewer connections and '
                    'waiting: size the server\'s max_connections for '
                    'max_pool_size times the workers of every host.'),
    cfg.IntOpt('max_overflow', default=0, min=0,
               help='Extra SQL connections one process may open beyond '
                    'max_pool_size when all are in use. Each is closed when '
                    'it is given back while max_pool_size others are idle, '
                    'so under a steady load above max_pool_size they are '
                    'opened and closed all the time: raise max_pool_size '
                    'instead, unless the database cannot hold that many.'),
    cfg.BoolOpt('pool_pre_ping', default=False,
                help='Test every pooled SQL connection with a query before '
                     'each use. Costs one round trip per request; off by '
                     'default because a stale connection is detected by '
                     'its first error anyway, dropped, and the operation '
                     'retried on a fresh one (every operation is safe to '
                     'repeat).'),
    cfg.IntOpt('recent_containers_cache_size', default=10000, min=0,
               help='Containers each process remembers as it last read or '
                    'wrote them, so that the next write to one starts '
                    'from there: one database round trip instead of two. '
                    'A memory that is out of date (another process wrote '
                    'since) costs a read and a retry, never a wrong '
                    'result. At most 16 MiB; 0 switches it off.'),
    cfg.IntOpt('sqlite_busy_timeout_ms', default=50, min=0,
               help='Milliseconds SQLite waits inside its C library for a '
                    'lock held by another process before the driver backs '
                    'off and retries (green-friendly) in Python. Kept short '
                    'because the wait blocks the whole eventlet process.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
