"""The keystone pipeline: keystonemiddleware auth_token and our context.

auth_token runs with ``delay_auth_decision`` so that it never answers by
itself; :class:`KeystoneContext` then answers 401 in our error format with
``WWW-Authenticate``. The identity comes only from the headers auth_token
sets: auth_token strips the client's identity headers except
``OpenStack-System-Scope``, which :class:`AuthProtocol` strips too. When
Keystone cannot validate tokens (unreachable, or our service credentials
refused) the answer is 503, not 401: the client's token may be fine.

Validated tokens are cached in memcached by auth_token (shared by every
worker, for ``token_cache_time``). Each process also keeps auth_token's
answer for the tokens it saw lately (:mod:`known_tokens`): the headers
auth_token set and the token's expiry, reused until auth_token's cache is
asked again a second later. A revoked token is therefore refused at most
``token_cache_time`` plus one second after it was cached; expiry is
checked on every request.
"""

import time

from keystoneauth1 import exceptions as ksa_exceptions
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_context import context

from cloudprefs.api import deploy
from cloudprefs.api import errors
from cloudprefs.api import request as api_request
from cloudprefs.api.middleware import known_tokens

GROUP = 'keystone_authtoken'
RETRY_AFTER = '5'

# What auth_token meets when it cannot ask Keystone; with
# delay_auth_decision it turns them into InvalidToken, which would read as
# a bad token.
_KEYSTONE_UNAVAILABLE = (ksa_exceptions.ConnectFailure,
                         ksa_exceptions.DiscoveryFailure,
                         ksa_exceptions.RequestTimeout,
                         auth_token.ServiceError)


class _KeystoneUnavailable(Exception):
    pass


class AuthProtocol(auth_token.AuthProtocol):
    """auth_token that strips every forged identity header, tells an
    unavailable Keystone from an invalid token, and reuses its own answer
    for a token it has confirmed (see :mod:`known_tokens`)."""

    def __init__(self, app, conf):
        super().__init__(app, conf)
        self._known_tokens = known_tokens.KnownTokens()

    def __call__(self, environ, start_response):
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if token is None:
            token = environ.get('HTTP_X_STORAGE_TOKEN')
        # A service token can widen what a user token may do (expired
        # tokens), so such requests always take auth_token's own way.
        if token and 'HTTP_X_SERVICE_TOKEN' not in environ:
            token = token.strip()
            identity = self._known_tokens.get(token)
            if identity is not None and self._still_valid(token, identity):
                known_tokens.remove_identity_headers(environ)
                environ.update(identity.environ)
                return self._app(environ, self._adding_www_authenticate(
                    start_response))
        return super().__call__(environ, start_response)

    def _still_valid(self, token, identity):
        """Whether a known token's identity may serve this request: not
        expired, and confirmed by auth_token's cache lately (see
        :mod:`known_tokens`). Otherwise the token is forgotten, and
        auth_token answers the request from scratch."""
        if identity.expires_at <= time.time():
            self._known_tokens.forget(token)
            return False
        now = self._known_tokens.clock()
        age = now - identity.confirmed_at
        if age < known_tokens.RECHECK_SECONDS or (
                identity.rechecking and age < known_tokens.CHECK_SECONDS):
            return True
        identity.rechecking = True
        try:
            token_data = self.fetch_token(token)
        except Exception:   # auth_token's own way gives the answer
            token_data = None
        finally:
            identity.rechecking = False
        if token_data != identity.token_data:
            self._known_tokens.forget(token)
            return False
        identity.confirmed_at = now
        return True

    def _adding_www_authenticate(self, start_response):
        """What process_response does to a 401, for the requests that do
        not go through auth_token's own __call__."""
        def start(status, headers, exc_info=None):
            if status.startswith('401') and not any(
                    name.lower() == 'www-authenticate'
                    for name, _ in headers):
                headers = list(headers) + [(
                    'WWW-Authenticate',
                    'Keystone uri="%s"' % self.www_authenticate_uri)]
            return start_response(status, headers, exc_info)
        return start

    def process_request(self, request):
        request.environ.pop('HTTP_OPENSTACK_SYSTEM_SCOPE', None)
        try:
            response = super().process_request(request)
        except _KeystoneUnavailable:
            return errors.error_response(
                request.environ, 503, errors.AUTH_UNAVAILABLE,
                'The identity service cannot validate tokens now; retry '
                'later.', headers={'Retry-After': RETRY_AFTER})
        if response is None:
            self._remember(request)
        return response

    def _remember(self, request):
        """Keep auth_token's answer for a confirmed user token whose
        answer depends on the token alone."""
        if request.service_token or not request.user_token_valid:
            return
        token_data = request.token_info
        user = request.token_auth.user
        if user.version != 'v3' or user.bind:
            return      # token binding is checked against each request
        credential = token_data['token'].get('application_credential')
        if credential and credential.get('access_rules') is not None:
            return      # access rules are checked against each request
        self._known_tokens.remember(
            request.user_token.strip(),
            known_tokens.identity_entries(request.environ), token_data,
            user.expires.timestamp())

    def process_response(self, response):
        # KeystoneContext's 401 already names Keystone; auth_token would
        # add a second WWW-Authenticate header.
        if 'WWW-Authenticate' in response.headers:
            return response
        return super().process_response(response)

    def fetch_token(self, token, allow_expired=False):
        try:
            return super().fetch_token(token, allow_expired=allow_expired)
        except auth_token.InvalidToken as error:
            if isinstance(error.__context__, _KEYSTONE_UNAVAILABLE):
                raise _KeystoneUnavailable() from error
            raise


def authtoken_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)
    settings = dict(local_conf, oslo_config_config=conf,
                    delay_auth_decision=True)

    def _filter(app):
        return AuthProtocol(app, settings)
    return _filter


class KeystoneContext:
    """Answers 401 for requests auth_token did not confirm; builds the
    request context from auth_token's headers for the others."""

    def __init__(self, app, www_authenticate_uri):
        self.app = app
        self.www_authenticate = 'Keystone uri="%s"' % (www_authenticate_uri
                                                       or '')

    def __call__(self, environ, start_response):
        confirmed = environ.get('HTTP_X_IDENTITY_STATUS') == 'Confirmed'
        if not confirmed or not environ.get('HTTP_X_USER_ID'):
            response = errors.error_response(
                environ, 401, errors.UNAUTHENTICATED,
                'A valid Keystone token (X-Auth-Token) is required.',
                headers={'WWW-Authenticate': self.www_authenticate})
            return response(environ, start_response)
        environ[api_request.CONTEXT_KEY] = (
            context.RequestContext.from_environ(environ))
        return self.app(environ, start_response)


def _www_authenticate_uri(conf):
    group = conf[GROUP]
    if group.www_authenticate_uri:
        return group.www_authenticate_uri
    try:    # registered only once the auth plugin's options are loaded
        return group.auth_url
    except cfg.NoSuchOptError:
        return None


def context_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)
    uri = _www_authenticate_uri(conf)

    def _filter(app):
        return KeystoneContext(app, uri)
    return _filter
