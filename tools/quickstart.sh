#!/bin/bash
# Install Cloud Preferences into .venv and start it for local development:
# noauth (X-User-Id is trusted), embedded SQLite under ./state, port 8888.
#
#   tools/quickstart.sh [extra cloudprefs-api arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -m venv --help >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -c upper-constraints.txt -r requirements.txt -e .

exec .venv/bin/cloudprefs-api --config-file etc/cloudprefs/cloudprefs-dev.conf "$@"
