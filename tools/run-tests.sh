#!/bin/bash
# The whole test suite, from a fresh clone on a fresh Debian machine:
#
#   tools/run-tests.sh [pytest arguments]
#
# 1. tools/test-setup.sh installs and starts the system services;
# 2. a virtualenv in .venv gets the pinned dependencies and the package;
#    another, .keystone-venv, gets the pinned Keystone the tests run
#    (a test tool, kept apart from the service's own dependencies);
#    a third, .client-venv, gets the client distribution (client/)
#    with python-openstackclient and tempest, and nothing of the server;
#    and a fourth, .wsgi-venv, the service as operators run it under
#    uwsgi: its runtime dependencies and uWSGI, without eventlet, so the
#    tests prove that nothing but cloudprefs-api needs eventlet;
# 3. pytest runs unit and functional tests. Tests start what they own
#    (cloudprefs-api processes, Keystone under uwsgi, memcached, the
#    MongoDB-protocol test server) themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/test-setup.sh

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -c upper-constraints.txt \
    -r requirements.txt -r test-requirements.txt -e .

if [ ! -x .keystone-venv/bin/python ]; then
    "$PYTHON" -m venv .keystone-venv
    .keystone-venv/bin/pip install -q --upgrade pip
fi
# Every time, like the others: an older .keystone-venv gets what the
# constraints added since (psycopg2 for Keystone's PostgreSQL database).
.keystone-venv/bin/pip install -q -c tools/keystone-constraints.txt \
    keystone uWSGI psycopg2-binary

if [ ! -x .client-venv/bin/python ]; then
    "$PYTHON" -m venv .client-venv
    .client-venv/bin/pip install -q --upgrade pip
fi
.client-venv/bin/pip install -q -c tools/client-constraints.txt \
    -e ./client python-openstackclient tempest pytest

if [ ! -x .wsgi-venv/bin/python ]; then
    "$PYTHON" -m venv .wsgi-venv
    .wsgi-venv/bin/pip install -q --upgrade pip
fi
grep -v '^eventlet' requirements.txt > .wsgi-venv/requirements.txt
.wsgi-venv/bin/pip install -q -c upper-constraints.txt \
    -r .wsgi-venv/requirements.txt uWSGI psycopg2-binary PyMySQL
.wsgi-venv/bin/pip install -q --no-deps -e .
# oslo.service still lists eventlet among its own requirements.
.wsgi-venv/bin/pip uninstall -q -y eventlet

# No path given: pytest.ini's testpaths (tests), the whole suite.
exec .venv/bin/python -m pytest "$@"
