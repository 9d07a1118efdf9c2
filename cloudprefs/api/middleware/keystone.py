"""The keystone pipeline: keystonemiddleware auth_token and our context.

auth_token runs with ``delay_auth_decision`` so that it never answers by
itself; :class:`KeystoneContext` then answers 401 in our error format with
``WWW-Authenticate``, and takes the identity only from the headers
auth_token sets after stripping what the client sent.
"""

from keystonemiddleware import auth_token

from cloudprefs.api import deploy
from cloudprefs.api import errors
from cloudprefs.api import request as api_request

GROUP = 'keystone_authtoken'

# Identity headers a client could send; auth_token strips most, this filter
# makes sure of the rest before anything reads them.
_UNTRUSTED_IF_UNCONFIRMED = ('HTTP_X_USER_ID', 'HTTP_X_ROLES',
                             'HTTP_X_PROJECT_ID', 'HTTP_OPENSTACK_SYSTEM_SCOPE')


def authtoken_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)
    settings = dict(local_conf, oslo_config_config=conf,
                    delay_auth_decision=True)

    def _filter(app):
        return auth_token.AuthProtocol(app, settings)
    return _filter


class KeystoneContext:

    def __init__(self, app, www_authenticate_uri):
        self.app = app
        self.www_authenticate = 'Keystone uri="%s"' % (www_authenticate_uri
                                                       or '')

    def __call__(self, environ, start_response):
        confirmed = environ.get('HTTP_X_IDENTITY_STATUS') == 'Confirmed'
        user_id = environ.get('HTTP_X_USER_ID') if confirmed else None
        if not user_id:
            for key in _UNTRUSTED_IF_UNCONFIRMED:
                environ.pop(key, None)
            response = errors.error_response(
                environ, 401, errors.UNAUTHENTICATED,
                'A valid Keystone token (X-Auth-Token) is required.',
                headers={'WWW-Authenticate': self.www_authenticate})
            return response(environ, start_response)
        environ[api_request.USER_ID_KEY] = user_id
        environ[api_request.ROLES_KEY] = tuple(
            role.strip() for role in environ.get('HTTP_X_ROLES', '').split(',')
            if role.strip())
        return self.app(environ, start_response)


def context_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)
    uri = conf[GROUP].www_authenticate_uri or conf[GROUP].auth_url

    def _filter(app):
        return KeystoneContext(app, uri)
    return _filter
