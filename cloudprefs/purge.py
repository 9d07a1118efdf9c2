"""Purging the data of users, projects and domains the identity service
deleted.

Two ways lead here: ``cloudprefs-keystone-listener`` hears Keystone's
``identity.user.deleted`` (and ``identity.project.deleted``,
``identity.domain.deleted``: the shared layers of API 1.4) notification,
and ``cloudprefs-manage purge_deleted_users`` asks Keystone about every
user, project and domain that has data (for the messages the listener
missed). Both purge through :func:`purge_owner`, which is idempotent.
"""

import logging
import urllib.parse

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session

from cloudprefs.conf import service_credentials
from cloudprefs import logsafe
from cloudprefs import notifications
from cloudprefs.storage import owners
from cloudprefs.storage import records

LOG = logging.getLogger(__name__)

CREDENTIALS_GROUP = service_credentials.GROUP
AUTHTOKEN_GROUP = 'keystone_authtoken'
USER_DELETED = 'identity.user.deleted'
# Keystone's deletion events, and the layer each one empties.
DELETED_EVENTS = {USER_DELETED: owners.USER,
                  'identity.project.deleted': owners.PROJECT,
                  'identity.domain.deleted': owners.DOMAIN}
# Keystone's collection of each layer's owners.
_COLLECTIONS = {owners.USER: 'users', owners.PROJECT: 'projects',
                owners.DOMAIN: 'domains'}


def deleted_user_id(payload):
    """The id of the deleted user (project, domain) in a Keystone
    notification payload,
    basic (``{"resource_info": id}``) or CADF (``target.id``, with
    ``resource_info`` too); None for anything else or a failed
    deletion."""
    if not isinstance(payload, dict):
        return None
    if payload.get('outcome', 'success') != 'success':
        return None
    user_id = payload.get('resource_info')
    target = payload.get('target')
    if not user_id and isinstance(target, dict):
        user_id = target.get('id')
    if isinstance(user_id, str) and user_id:
        return user_id
    return None


def purge_owner(driver, notifier, owner, reason):
    """Delete all the data and usage of ``owner`` (an
    :class:`owners.Owner`: a user, or a project's or domain's layer),
    durably when this returns, and announce ``cloudprefs.<layer>.purge``;
    how many containers went (0 when there were none, or an earlier purge
    took them)."""
    deleted = driver.delete_user(owner.key)
    LOG.info('Purged the data of %s %s (%s): %d containers', owner.layer,
             logsafe.escape(owner.id), reason, deleted)
    event_type, payload = notifications.event_for(
        records.Change('purge', owner.key, None, None, 0, deleted), None)
    payload['reason'] = reason
    notifier.emit({}, event_type, payload)
    return deleted


def purge_user(driver, notifier, user_id, reason):
    """:func:`purge_owner` of a user."""
    return purge_owner(driver, notifier, owners.Owner(owners.USER, user_id),
                       reason)


class KeystoneError(Exception):
    """Keystone did not say whether a user exists."""


class KeystoneUsers:
    """Asks Keystone whether users, projects and domains exist, with the
    service's account: ``[service_credentials]`` when it sets
    ``auth_type``, otherwise the ``[keystone_authtoken]`` account
    auth_token uses. The account needs to be allowed
    ``identity:get_user``, ``identity:get_project`` and
    ``identity:get_domain`` (the reader role on the system, by Keystone's
    default policy)."""

    def __init__(self, conf, session=None):
        self._session = session or self._make_session(conf)
        self._interface = getattr(conf.keystone_authtoken, 'interface',
                                  None) or 'public'

    @staticmethod
    def _make_session(conf):
        if conf[CREDENTIALS_GROUP].auth_type:
            auth = ks_loading.load_auth_from_conf_options(conf,
                                                          CREDENTIALS_GROUP)
            return ks_loading.load_session_from_conf_options(
                conf, CREDENTIALS_GROUP, auth=auth)
        authtoken = conf[AUTHTOKEN_GROUP]
        auth = ks_loading.load_auth_from_conf_options(conf, AUTHTOKEN_GROUP)
        verify = False if authtoken.insecure else (authtoken.cafile or True)
        cert = None
        if authtoken.certfile and authtoken.keyfile:
            cert = (authtoken.certfile, authtoken.keyfile)
        return ks_session.Session(auth=auth, verify=verify, cert=cert,
                                  timeout=authtoken.http_connect_timeout)

    def exists(self, user_id, layer=owners.USER):
        """Whether Keystone has the user (the project, the domain: the
        owner of ``layer``); KeystoneError when Keystone cannot tell."""
        path = '/%s/%s' % (_COLLECTIONS[layer],
                           urllib.parse.quote(user_id, safe=''))
        try:
            response = self._session.get(
                path,
                endpoint_filter={'service_type': 'identity',
                                 'interface': self._interface,
                                 'version': (3, 0)},
                raise_exc=False)
        except ks_exceptions.ClientException as error:
            raise KeystoneError(str(error)) from error
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise KeystoneError('GET /v3%s answered %d'
                            % (path, response.status_code))
