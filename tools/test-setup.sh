#!/bin/bash
# Install and start the system services the test suite needs, on this
# machine or a fresh Debian one. Idempotent: what is already there and
# running is left alone. OpenStack projects keep this step here too.
#
#   memcached   Keystone token cache (tests start their own instance on
#               a free port; only the binary is needed)
#   PostgreSQL  127.0.0.1:5432, trust authentication
#   MariaDB     127.0.0.1:3306, root with an empty password
#   RabbitMQ    127.0.0.1:5672, guest/guest: notifications and the
#               Keystone listener (the tests use a vhost of their own)
#   ShellCheck  lints the devstack plugin in the tests
#   galera-4, rsync
#               the high-availability tests start a Galera cluster of
#               their own (MariaDB's server with the galera-4 provider,
#               rsync for state transfers) and a PostgreSQL primary and
#               standby of their own, on free loopback ports
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi

missing_packages=()
command -v memcached >/dev/null || missing_packages+=(memcached)
command -v shellcheck >/dev/null || missing_packages+=(shellcheck)
command -v pg_ctlcluster >/dev/null || missing_packages+=(postgresql)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] \
    || missing_packages+=(mariadb-server)
command -v rabbitmqctl >/dev/null || [ -x /usr/sbin/rabbitmqctl ] \
    || missing_packages+=(rabbitmq-server)
[ -e /usr/lib/galera/libgalera_smm.so ] || missing_packages+=(galera-4)
command -v rsync >/dev/null || missing_packages+=(rsync)
if [ "${#missing_packages[@]}" -gt 0 ]; then
    echo "test-setup: installing ${missing_packages[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        "${missing_packages[@]}" >/dev/null
fi

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {
    for _ in $(seq 1 60); do
        port_open "$1" && return 0
        sleep 1
    done
    echo "test-setup: nothing listens on port $1" >&2
    return 1
}

postgresql_version() {
    local versions=(/etc/postgresql/*)
    basename "${versions[-1]}"
}

if ! port_open 5432; then
    echo "test-setup: starting PostgreSQL"
    version=$(postgresql_version)
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for_port 5432
fi
# Trust local TCP connections so tests can create throw-away databases.
if ! psql -h 127.0.0.1 -U postgres -c 'SELECT 1' >/dev/null 2>&1; then
    version=$(postgresql_version)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    $SUDO sed -i 's/^\(host.*127.0.0.1\/32 *\)[a-z0-9-]*$/\1trust/' "$hba"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi

if ! port_open 3306; then
    echo "test-setup: starting MariaDB"
    $SUDO start-stop-daemon --start --oknodo --background \
        --exec /usr/sbin/mariadbd -- --user=mysql
    wait_for_port 3306
fi
if ! mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
    $SUDO mariadb -u root -e \
        "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
fi
if ! port_open 5672; then
    echo "test-setup: starting RabbitMQ"
    # Debian's package starts it under systemd; without systemd (a
    # container, CI) start it directly as its own user.
    if ! $SUDO service rabbitmq-server start >/dev/null 2>&1; then
        $SUDO start-stop-daemon --start --oknodo --background \
            --chuid rabbitmq --exec /usr/sbin/rabbitmq-server
    fi
    wait_for_port 5672
fi
# The tests make their own vhost through rabbitmqctl: wait until the
# broker answers it, not just its port.
for _ in $(seq 1 60); do
    $SUDO rabbitmqctl -q await_startup >/dev/null 2>&1 && break
    sleep 1
done
echo "test-setup: services ready"
