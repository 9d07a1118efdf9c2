"""[DEFAULT] options: how the API process listens and authenticates."""

import os

from oslo_config import cfg

AUTH_STRATEGIES = ('keystone', 'noauth')

OPTS = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0',
                       help='Address on which cloudprefs-api listens.'),
    cfg.PortOpt('bind_port', default=8888,
                help='Port on which cloudprefs-api listens '
                     '(the --port command-line flag overrides it).'),
    cfg.StrOpt('auth_strategy', default='keystone', choices=AUTH_STRATEGIES,
               help='"keystone" validates tokens with keystonemiddleware; '
                    '"noauth" trusts the X-User-Id and X-Roles headers and '
                    'is only for development and tests.'),
    cfg.StrOpt('api_paste_config', default='api-paste.ini',
               help='The paste.deploy file that builds the WSGI pipeline. '
                    'A relative name is looked up beside the configuration '
                    'files; the copy inside the package is the fallback.'),
    cfg.StrOpt('state_path',
               default=os.path.join(os.path.expanduser('~'), '.cloudprefs'),
               help='Directory for local state; the embedded SQLite '
                    'database lives here unless [database] connection '
                    'says otherwise.'),
    cfg.IntOpt('api_workers', default=os.cpu_count() or 1, min=1,
               sample_default='<number of CPUs>',
               help='Worker processes of cloudprefs-api, all accepting on '
                    'one listening socket (the --workers flag overrides '
                    'it). 1 serves from a single process.'),
    cfg.IntOpt('graceful_shutdown_timeout', default=60, min=0,
               help='Seconds a worker stopping on SIGTERM (or replaced on '
                    'SIGHUP) lets requests in flight finish before it '
                    'exits anyway; 0 waits for ever.'),
    cfg.IntOpt('backlog', default=4096, min=1,
               help='Connections the kernel queues on the listening socket '
                    'while every worker is busy.'),
    cfg.IntOpt('green_pool_size', default=4000, min=1,
               help='Connections one cloudprefs-api process holds open at '
                    'most (each served by a green thread, a few tens of KB '
                    'while idle). A held long-poll or watch (the change '
                    'feed) is a connection inside a request: size this for '
                    'the devices that follow their feed, plus the '
                    'requests in flight. A new connection '
                    'past it closes the connection that has waited longest '
                    'for a request (idle, or still sending its request '
                    'head), so idle clients cannot lock others out; when '
                    'every connection is inside a request it is answered '
                    '503 and closed.'),
    cfg.IntOpt('client_socket_timeout', default=60, min=0,
               help='Seconds a kept-alive client connection may stay idle '
                    'between requests, and that one read of a request body '
                    'or one write of a response may wait; 0 waits '
                    'forever.'),
    cfg.FloatOpt('client_header_timeout', default=15.0, min=0.1,
                 help='Seconds a client has to send a whole request head '
                      '(request line and headers), from the connection '
                      'being accepted or, on a kept-alive connection, from '
                      'the first byte of the request; then the connection '
                      'is closed. Defeats clients that send their headers '
                      'a byte at a time to hold connections.'),
]


def register_opts(conf):
    conf.register_opts(OPTS)


def list_opts():
    return [('DEFAULT', OPTS)]
