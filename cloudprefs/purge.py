"""Purging the data of users the identity service deleted.

Two ways lead here: ``cloudprefs-keystone-listener`` hears Keystone's
``identity.user.deleted`` notification, and ``cloudprefs-manage
purge_deleted_users`` asks Keystone about every user that has data (for
the messages the listener missed). Both purge through
:func:`purge_user`, which is idempotent.
"""

import logging
import urllib.parse

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session

from cloudprefs.conf import service_credentials
from cloudprefs import logsafe
from cloudprefs import notifications
from cloudprefs.storage import records

LOG = logging.getLogger(__name__)

CREDENTIALS_GROUP = service_credentials.GROUP
AUTHTOKEN_GROUP = 'keystone_authtoken'
USER_DELETED = 'identity.user.deleted'


def deleted_user_id(payload):
    """The id of the deleted user in a Keystone notification payload,
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


def purge_user(driver, notifier, user_id, reason):
    """Delete all of ``user_id``'s data and usage (durably, when this
    returns) and announce ``cloudprefs.user.purge``; how many containers
    went (0 when there were none, or an earlier purge took them)."""
    deleted = driver.delete_user(user_id)
    LOG.info('Purged the data of user %s (%s): %d containers',
             logsafe.escape(user_id), reason, deleted)
    event_type, payload = notifications.event_for(
        records.Change('purge', user_id, None, None, 0, deleted), None)
    payload['reason'] = reason
    notifier.emit({}, event_type, payload)
    return deleted


class KeystoneError(Exception):
    """Keystone did not say whether a user exists."""


class KeystoneUsers:
    """Asks Keystone whether users exist, with the service's account:
    ``[service_credentials]`` when it sets ``auth_type``, otherwise the
    ``[keystone_authtoken]`` account auth_token uses. The account needs
    to be allowed ``identity:get_user`` (the reader role on the system,
    by Keystone's default policy)."""

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

    def exists(self, user_id):
        """True or False; KeystoneError when Keystone cannot tell."""
        try:
            response = self._session.get(
                '/users/%s' % urllib.parse.quote(user_id, safe=''),
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
        raise KeystoneError('GET /v3/users/%s answered %d'
                            % (user_id, response.status_code))
