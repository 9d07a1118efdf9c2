#!/bin/bash
# The globals below are read by the sourced plugin, not by this file.
# shellcheck disable=SC2034,SC1091
#
# Runs every phase of devstack/plugin.sh without a devstack.
#
#   tests/devstack/harness.sh WORKDIR
#
# The devstack functions the plugin calls are defined here as recorders
# that append "name args..." to $WORKDIR/calls.log (those that devstack
# uses to write files write them as devstack would); iniset is a real
# implementation. tests/functional/test_devstack_plugin.py checks what the
# phases left in WORKDIR.
set -euo pipefail

WORKDIR=$(cd "$1" && pwd)
REPOSITORY=$(cd "$(dirname "$0")/../.." && pwd)
CALLS=$WORKDIR/calls.log
: > "$CALLS"

# devstack's globals, as stack.sh would set them.
DEST=$WORKDIR/opt
DATA_DIR=$WORKDIR/data
STACK_USER=$(id -un)
SERVICE_HOST=192.0.2.10
SERVICE_PROTOCOL=http
SERVICE_TIMEOUT=60
SERVICE_PASSWORD="service-secret"
SERVICE_PROJECT_NAME=service
REGION_NAME=RegionOne
KEYSTONE_SERVICE_URI=http://192.0.2.10/identity
ENABLE_DEBUG_LOG_LEVEL=True
CLOUDPREFS_DIR=$REPOSITORY
CLOUDPREFS_CONF_DIR=$WORKDIR/etc/cloudprefs
CLOUDPREFS_BIN_DIR=$WORKDIR/bin/
KEYSTONE_CONF=$WORKDIR/keystone.conf
# Tempest is enabled when the test gives TEMPEST_CONFIG.
TEMPEST_CONFIG=${TEMPEST_CONFIG:-}
mkdir -p "$DEST" "$DATA_DIR" "$CLOUDPREFS_BIN_DIR"

record() {
    printf '%s\n' "$*" >> "$CALLS"
}

# A real iniset: set OPTION in SECTION of FILE, creating what is missing.
iniset() {
    python3 - "$@" <<'PYTHON'
import configparser
import sys

path, section, option, value = sys.argv[1:5]
parser = configparser.RawConfigParser()
parser.optionxform = str
parser.read(path)
if section != 'DEFAULT' and not parser.has_section(section):
    parser.add_section(section)
parser.set(section, option, value)
with open(path, 'w') as ini:
    parser.write(ini)
PYTHON
}

# Recorders of devstack's helpers.
sudo() { record sudo "$@"; "$@"; }
enable_service() { record enable_service "$@"; }
is_service_enabled() {
    case "$1" in
        cloudprefs-api|cloudprefs-keystone-listener|rabbit) return 0 ;;
        tempest) [[ -n "$TEMPEST_CONFIG" ]] ;;
        *) return 1 ;;
    esac
}
echo_summary() { record echo_summary "$@"; }
die() { record die "$@"; exit 1; }
setup_develop() { record setup_develop "$@"; }
get_python_exec_prefix() { echo "$WORKDIR/bin"; }
database_connection_url() {
    record database_connection_url "$@"
    echo "mysql+pymysql://root:db-secret@127.0.0.1/$1?charset=utf8"
}
recreate_database() { record recreate_database "$@"; }
configure_keystone_authtoken_middleware() {
    # What devstack's lib/keystone writes.
    record configure_keystone_authtoken_middleware "$@"
    local conf=$1 user=$2 section=${3:-keystone_authtoken}
    iniset "$conf" "$section" auth_type password
    iniset "$conf" "$section" interface public
    iniset "$conf" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" "$section" username "$user"
    iniset "$conf" "$section" password "$SERVICE_PASSWORD"
    iniset "$conf" "$section" user_domain_name Default
    iniset "$conf" "$section" project_name "$SERVICE_PROJECT_NAME"
    iniset "$conf" "$section" project_domain_name Default
    iniset "$conf" "$section" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
}
create_service_user() { record create_service_user "$@"; }
get_or_add_user_system_role() {
    record get_or_add_user_system_role "$@"
}
iniset_rpc_backend() {
    # What devstack's lib/rpc_backend writes.
    record iniset_rpc_backend "$@"
    iniset "$2" "${3:-DEFAULT}" transport_url \
        "rabbit://stackrabbit:rabbit-secret@192.0.2.10:5672/"
}
restart_service() { record restart_service "$@"; }
get_or_create_service() {
    record get_or_create_service "$@"
    echo service-id-1234
}
get_or_create_endpoint() { record get_or_create_endpoint "$@"; }
write_uwsgi_config() {
    # What devstack's lib/apache writes for a module and a URL prefix.
    record write_uwsgi_config "$@"
    local file=$1 module=$2 url=$3
    iniset "$file" uwsgi module "$module"
    iniset "$file" uwsgi socket "$WORKDIR/uwsgi-${5:-app}.socket"
    iniset "$file" uwsgi master true
    iniset "$file" uwsgi processes 2
    iniset "$file" uwsgi lazy-apps true
    record apache_proxy "$url"
}
remove_uwsgi_config() { record remove_uwsgi_config "$@"; }
run_process() { record run_process "$@"; }
stop_process() { record stop_process "$@"; }
wait_for_service() { record wait_for_service "$@"; }
which() { echo "/usr/local/bin/$1"; }

# cloudprefs-manage is recorded too (no database here).
cat > "$CLOUDPREFS_BIN_DIR/cloudprefs-manage" <<STUB
#!/bin/bash
printf 'cloudprefs-manage %s\n' "\$*" >> "$CALLS"
STUB
chmod +x "$CLOUDPREFS_BIN_DIR/cloudprefs-manage"

source "$REPOSITORY/devstack/settings"
for phase in "stack pre-install" "stack install" "stack post-config" \
             "stack extra" "stack test-config" "unstack"; do
    record "== phase $phase"
    # shellcheck disable=SC2086
    set -- $phase
    source "$REPOSITORY/devstack/plugin.sh"
done
# clean removes the configuration: keep a copy for the checks first.
cp "$CLOUDPREFS_CONF" "$WORKDIR/cloudprefs.conf.generated"
cp "$CLOUDPREFS_UWSGI_CONF" "$WORKDIR/uwsgi.ini.generated"
record "== phase clean"
set -- clean
source "$REPOSITORY/devstack/plugin.sh"
echo "harness: every phase ran"
