#!/bin/bash
# The whole test suite, from a fresh clone on a fresh Debian machine:
#
#   tools/run-tests.sh [pytest arguments]
#
# 1. tools/test-setup.sh installs and starts the system services;
# 2. a virtualenv in .venv gets the pinned dependencies and the package;
# 3. pytest runs unit and functional tests. Tests start what they own
#    (cloudprefs-api processes, the MongoDB-protocol test server,
#    uwsgi) themselves.
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

exec .venv/bin/python -m pytest tests "$@"
