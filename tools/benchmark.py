#!/usr/bin/env python3
"""Benchmark of cloudprefs-api against the ceiling of its web server.

    tools/benchmark.py --backend postgresql
        [--auth noauth|keystone|compare] [--users 100] [--tokens N]
        [--connections 32,256] [--duration 10] [--rounds 5]
        [--set SECTION.OPTION=VALUE ...] [--large]
        [--scaling [--scaling-sizes 1000,100000,1000000]] [--soak 600]
        [--output results.json]

Starts cloudprefs-api with one worker on the chosen backend (a throw-away
database on the machine's PostgreSQL or MariaDB, a temporary SQLite file,
or the MongoDB test server), stores the users' data through the product's
storage driver (as the API stores it: with its usage, change-feed and
path-index records), sends one request per user or token through the
server (Keystone validates each token once), and drives it with wrk
(installed with apt-get when missing) using the Lua scripts in
tools/bench/. In the same run, interleaved round by round, it
measures the ceiling: a trivial WSGI app returning the same bytes under
the same server (eventlet.wsgi, one process). Per workload it prints the
median over the rounds of requests/s, p50 and p99 latency, non-2xx
responses, server CPU per request, peak RSS, the database connections
the server opened during the measured seconds (PostgreSQL's session
count, MariaDB's Connections status, MongoDB's connections created), and
the ratio to the ceiling; --output writes every round as JSON.

The service runs with its default options, as users run it. ``--set
database.max_pool_size=32`` (repeatable) changes an option; the tables
are then labelled "tuned" with the options given.

--large starts a second server, with ``[api] max_container_size`` raised
to 4 MiB for the purpose (the default is 1 MiB), stores a container of
20,000 small objects (about 4 MB) through the driver and measures, one
request at a time, a GET of one path inside it, a HEAD of it, a
conditional GET answered 304, and a GET of the whole container.

--notifications also runs every workload against a second server that
sends notifications ([oslo_messaging_notifications] driver = messagingv2)
to a vhost of its own on the machine's RabbitMQ, interleaved with the
plain server round by round, and prints the ratio notifying / plain.
(Nothing consumes the messages: RabbitMQ drops them, so the figure is
the publishing cost on the service's side.)

--long-polls N also runs every workload, in the same rounds, while N idle
long-polls of the change feed (``GET /v1?since=0&wait=10`` for N users
nobody writes to, held up to ``[changes] max_wait`` and asked again) are
held open on the server, and prints the ratio with / without them; then
it measures the wake-up latency of a long-poll (from the acknowledgement
of a write to the answer of the waiting request), with the write made by
the same process and by another cloudprefs-api process on the same
database.

--uwsgi also runs the WSGI application under uwsgi with the shipped
etc/cloudprefs/uwsgi.ini (one process, as cloudprefs-api has one worker;
from .wsgi-venv, without eventlet) on the same database, each workload
against one server and then the other in every round (with --long-polls
too), and prints uwsgi / cloudprefs-api. ``--uwsgi-option threads=8``
(repeatable) changes an option of the ini; the run is then "tuned".

--auth compare runs a noauth and a keystone server (a real Keystone and
memcached) on one database with the same users' data, each workload
against one and then the other in every round, and prints keystone /
noauth: the ratio, the CPU per request of each, the memcached gets per
request and the validations Keystone made while measuring. --tokens N
gives the users N distinct tokens in all (1,500 over 50 users: more than
a process remembers).

--scaling stores 1 thousand, 100 thousand and 1 million containers
(--scaling-sizes) through the storage driver, eight at a time, and
measures GET and POST latency at each size, and GET /v1 (one page of 100)
for one user with 100, 1 thousand and 10 thousand containers (stored
without the per-user container quota; the server keeps its options).
--soak runs the 90/10 mix for the given seconds and compares RSS and
latency at its start and end.

Run it from the repository with the test virtualenv
(tools/run-tests.sh makes it) or tox -e bench. The code is the package
tools/benchmarking/ (runner, servers, workloads, measuring, report...).
"""


import os
import sys

sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)),
                os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

from benchmarking import runner  # noqa: E402  (after the path above)


if __name__ == '__main__':
    sys.exit(runner.main(description=__doc__.split('\n')[0]))
