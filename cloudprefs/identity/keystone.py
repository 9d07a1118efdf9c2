"""Asking Keystone whether a user, a project or a domain still exists,
before their data is purged (a deletion message on the bus is not proof:
oslo.messaging does not authenticate senders)."""

import urllib.parse

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session

from cloudprefs.conf import service_credentials
from cloudprefs.storage import owners

CREDENTIALS_GROUP = service_credentials.GROUP
AUTHTOKEN_GROUP = 'keystone_authtoken'
# Keystone's collection of each layer's owners.
_COLLECTIONS = {owners.USER: 'users', owners.PROJECT: 'projects',
                owners.DOMAIN: 'domains'}


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
