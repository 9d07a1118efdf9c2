"""The keystone pipeline: keystonemiddleware auth_token and our context.

auth_token runs with ``delay_auth_decision`` so that it never answers by
itself; :class:`KeystoneContext` then answers 401 in our error format with
``WWW-Authenticate``. The identity comes only from the headers auth_token
sets: auth_token strips the client's identity headers except
``OpenStack-System-Scope``, which :class:`AuthProtocol` strips too. When
Keystone cannot validate tokens (unreachable, or our service credentials
refused) the answer is 503, not 401: the client's token may be fine.

Validated tokens are cached in memcached by auth_token (shared by every
worker, for ``token_cache_time``); each process also keeps what it used
in the last second, saving the memcached round trip and the decoding of
the token data on most requests. A revoked token is therefore refused at
most ``token_cache_time`` plus one second after it was cached; expiry is
still checked by auth_token on every request.
"""

import time

from keystoneauth1 import exceptions as ksa_exceptions
from keystonemiddleware import auth_token
from keystonemiddleware.auth_token import _exceptions as ksm_exceptions
from oslo_config import cfg
from oslo_context import context

from cloudprefs.api import deploy
from cloudprefs.api import errors
from cloudprefs.api import request as api_request

GROUP = 'keystone_authtoken'
RETRY_AFTER = '5'
RECENT_TOKEN_SECONDS = 1.0
# Token data with a catalog runs to tens of kilobytes.
MAX_RECENT_TOKENS = 1000

# What auth_token meets when it cannot ask Keystone; with
# delay_auth_decision it turns them into InvalidToken, which would read as
# a bad token.
_KEYSTONE_UNAVAILABLE = (ksa_exceptions.ConnectFailure,
                         ksa_exceptions.DiscoveryFailure,
                         ksa_exceptions.RequestTimeout,
                         ksm_exceptions.ServiceError)


class _KeystoneUnavailable(Exception):
    pass


class RecentTokens:
    """The token data this process used in the last RECENT_TOKEN_SECONDS.

    Expired entries are dropped at least once a RECENT_TOKEN_SECONDS, so
    only tokens of the last moments stay in memory, and never more than
    MAX_RECENT_TOKENS of them.
    """

    def __init__(self, clock=time.monotonic, max_tokens=MAX_RECENT_TOKENS):
        self._clock = clock
        self.max_tokens = max_tokens
        self._entries = {}      # token -> (data, usable until)
        self._purge_at = 0.0

    def __len__(self):
        return len(self._entries)

    def get(self, token):
        entry = self._entries.get(token)
        if entry is not None and entry[1] > self._clock():
            return entry[0]
        return None

    def put(self, token, data):
        now = self._clock()
        if now >= self._purge_at or len(self._entries) >= self.max_tokens:
            self._entries = {kept: entry for kept, entry
                             in self._entries.items() if entry[1] > now}
            self._purge_at = now + RECENT_TOKEN_SECONDS
            if len(self._entries) >= self.max_tokens:
                self._entries = {}
        self._entries[token] = (data, now + RECENT_TOKEN_SECONDS)


class AuthProtocol(auth_token.AuthProtocol):
    """auth_token that strips every forged identity header and tells an
    unavailable Keystone from an invalid token."""

    def __init__(self, app, conf):
        super().__init__(app, conf)
        self._recent_tokens = RecentTokens()

    def process_request(self, request):
        request.environ.pop('HTTP_OPENSTACK_SYSTEM_SCOPE', None)
        try:
            return super().process_request(request)
        except _KeystoneUnavailable:
            return errors.error_response(
                request.environ, 503, errors.AUTH_UNAVAILABLE,
                'The identity service cannot validate tokens now; retry '
                'later.', headers={'Retry-After': RETRY_AFTER})

    def process_response(self, response):
        # KeystoneContext's 401 already names Keystone; auth_token would
        # add a second WWW-Authenticate header.
        if 'WWW-Authenticate' in response.headers:
            return response
        return super().process_response(response)

    def fetch_token(self, token, allow_expired=False):
        if not allow_expired:
            recent = self._recent_tokens.get(token)
            if recent is not None:
                return recent
        try:
            data = super().fetch_token(token, allow_expired=allow_expired)
        except ksm_exceptions.InvalidToken as error:
            if isinstance(error.__context__, _KEYSTONE_UNAVAILABLE):
                raise _KeystoneUnavailable() from error
            raise
        if not allow_expired:
            self._recent_tokens.put(token, data)
        return data


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
