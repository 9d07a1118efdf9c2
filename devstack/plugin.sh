#!/bin/bash
# devstack plugin of Cloud Preferences (cloudprefs).
#
# Installs the package, writes $CLOUDPREFS_CONF, creates and migrates its
# database, registers the "preferences" service, its unversioned endpoint
# and a service user in Keystone, and runs the API under uwsgi behind
# devstack's web server at $CLOUDPREFS_URL_PREFIX.

# Save trace setting and turn tracing on for this file.
_XTRACE_CLOUDPREFS=$(set +o | grep xtrace)
set -o xtrace

function cloudprefs_endpoint_url {
    echo "$CLOUDPREFS_SERVICE_PROTOCOL://$CLOUDPREFS_SERVICE_HOST$CLOUDPREFS_URL_PREFIX"
}

function install_cloudprefs {
    setup_develop "$CLOUDPREFS_DIR"
    # The client distribution: "openstack preference ..." on this host,
    # and the tempest plugin (tempest installs it again in its own
    # environment when TEMPEST_PLUGINS names $CLOUDPREFS_CLIENT_DIR).
    setup_develop "$CLOUDPREFS_CLIENT_DIR"
}

function configure_cloudprefs {
    sudo install -d -o "$STACK_USER" "$CLOUDPREFS_CONF_DIR" \
        "$CLOUDPREFS_STATE_PATH"
    rm -f "$CLOUDPREFS_CONF"

    iniset "$CLOUDPREFS_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$CLOUDPREFS_CONF" DEFAULT auth_strategy keystone
    iniset "$CLOUDPREFS_CONF" DEFAULT state_path "$CLOUDPREFS_STATE_PATH"

    if [[ -n "$CLOUDPREFS_MONGODB_URL" ]]; then
        iniset "$CLOUDPREFS_CONF" database connection "$CLOUDPREFS_MONGODB_URL"
    else
        iniset "$CLOUDPREFS_CONF" database connection \
            "$(database_connection_url "$CLOUDPREFS_DB_NAME")"
    fi

    configure_keystone_authtoken_middleware "$CLOUDPREFS_CONF" cloudprefs
    iniset "$CLOUDPREFS_CONF" keystone_authtoken memcached_servers \
        "$SERVICE_HOST:11211"
    iniset "$CLOUDPREFS_CONF" keystone_authtoken service_token_roles_required True

    # Notifications of writes, and Keystone's for the listener, on
    # devstack's RabbitMQ; durable queues on both sides so that no
    # user deletion is lost while the listener or the broker restarts.
    if is_service_enabled rabbit; then
        iniset_rpc_backend cloudprefs "$CLOUDPREFS_CONF" \
            oslo_messaging_notifications
        iniset "$CLOUDPREFS_CONF" oslo_messaging_notifications driver \
            messagingv2
        iniset "$CLOUDPREFS_CONF" oslo_messaging_rabbit amqp_durable_queues \
            True
        configure_keystone_notifications_for_cloudprefs
    fi
    # purge_deleted_users reads users with a system-scoped token of the
    # service user (Keystone's default policy: the system reader role).
    iniset "$CLOUDPREFS_CONF" service_credentials auth_type password
    iniset "$CLOUDPREFS_CONF" service_credentials auth_url \
        "$KEYSTONE_SERVICE_URI"
    iniset "$CLOUDPREFS_CONF" service_credentials username cloudprefs
    iniset "$CLOUDPREFS_CONF" service_credentials password \
        "$SERVICE_PASSWORD"
    iniset "$CLOUDPREFS_CONF" service_credentials user_domain_name Default
    iniset "$CLOUDPREFS_CONF" service_credentials system_scope all

    # uwsgi serves the WSGI application; it reads the configuration file
    # named by CLOUDPREFS_CONFIG_FILE.
    write_uwsgi_config "$CLOUDPREFS_UWSGI_CONF" "$CLOUDPREFS_UWSGI_APP" \
        "$CLOUDPREFS_URL_PREFIX" "" cloudprefs-api
    iniset "$CLOUDPREFS_UWSGI_CONF" uwsgi env \
        "CLOUDPREFS_CONFIG_FILE=$CLOUDPREFS_CONF"
    # Held long-polls and watches take a thread each: devstack's one
    # thread per process would hold none (etc/cloudprefs/uwsgi.ini and
    # doc/source/deployment.rst say why these values).
    iniset "$CLOUDPREFS_UWSGI_CONF" uwsgi enable-threads true
    iniset "$CLOUDPREFS_UWSGI_CONF" uwsgi threads "$CLOUDPREFS_UWSGI_THREADS"
    iniset "$CLOUDPREFS_UWSGI_CONF" uwsgi harakiri 90
    iniset "$CLOUDPREFS_UWSGI_CONF" uwsgi worker-reload-mercy 30
    # devstack's uwsgi socket is open to every local user: refuse the
    # applications a packet's UWSGI_FILE or UWSGI_MODULE would load.
    iniset "$CLOUDPREFS_UWSGI_CONF" uwsgi max-apps 1
}

function configure_keystone_notifications_for_cloudprefs {
    iniset "$KEYSTONE_CONF" oslo_messaging_notifications driver messagingv2
    iniset_rpc_backend keystone "$KEYSTONE_CONF" oslo_messaging_notifications
    iniset "$KEYSTONE_CONF" oslo_messaging_rabbit amqp_durable_queues True
}

function create_cloudprefs_accounts {
    create_service_user cloudprefs
    get_or_add_user_system_role reader cloudprefs all
    local service
    service=$(get_or_create_service cloudprefs "$CLOUDPREFS_SERVICE_TYPE" \
        "Cloud Preferences: per-user JSON storage")
    # Unversioned: keystoneauth finds /v1 from the version document at /.
    get_or_create_endpoint "$service" "$REGION_NAME" \
        "$(cloudprefs_endpoint_url)"
}

function init_cloudprefs {
    if [[ -z "$CLOUDPREFS_MONGODB_URL" ]]; then
        recreate_database "$CLOUDPREFS_DB_NAME"
    fi
    "$CLOUDPREFS_BIN_DIR"cloudprefs-manage --config-file "$CLOUDPREFS_CONF" db_sync
}

function start_cloudprefs {
    run_process cloudprefs-api \
        "$(which uwsgi) --procname-prefix cloudprefs --ini $CLOUDPREFS_UWSGI_CONF"
    echo "Waiting for cloudprefs-api to answer at $(cloudprefs_endpoint_url)"
    if ! wait_for_service "$SERVICE_TIMEOUT" "$(cloudprefs_endpoint_url)"; then
        die "$LINENO" "cloudprefs-api did not start"
    fi
}

function configure_tempest_for_cloudprefs {
    if is_service_enabled tempest; then
        iniset "$TEMPEST_CONFIG" service_available cloudprefs True
        iniset "$TEMPEST_CONFIG" preferences catalog_type \
            "$CLOUDPREFS_SERVICE_TYPE"
        iniset "$TEMPEST_CONFIG" preferences region "$REGION_NAME"
    fi
}

function start_cloudprefs_keystone_listener {
    if is_service_enabled cloudprefs-keystone-listener; then
        # Keystone reads the notification settings written above only
        # when it starts again.
        restart_service devstack@keystone
        run_process cloudprefs-keystone-listener \
            "${CLOUDPREFS_BIN_DIR}cloudprefs-keystone-listener --config-file $CLOUDPREFS_CONF"
    fi
}

function stop_cloudprefs {
    stop_process cloudprefs-keystone-listener
    stop_process cloudprefs-api
}

function cleanup_cloudprefs {
    remove_uwsgi_config "$CLOUDPREFS_UWSGI_CONF" cloudprefs-api
    sudo rm -rf "$CLOUDPREFS_STATE_PATH" "$CLOUDPREFS_CONF"
}

CLOUDPREFS_BIN_DIR=${CLOUDPREFS_BIN_DIR:-$(get_python_exec_prefix)/}

if is_service_enabled cloudprefs-api; then
    if [[ "$1" == "stack" && "$2" == "pre-install" ]]; then
        : # nothing to install from the distribution
    elif [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing Cloud Preferences"
        install_cloudprefs
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring Cloud Preferences"
        configure_cloudprefs
        create_cloudprefs_accounts
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting Cloud Preferences"
        init_cloudprefs
        start_cloudprefs
        start_cloudprefs_keystone_listener
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        echo_summary "Configuring tempest for Cloud Preferences"
        configure_tempest_for_cloudprefs
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_cloudprefs
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_cloudprefs
    fi
fi

# Restore xtrace.
$_XTRACE_CLOUDPREFS
