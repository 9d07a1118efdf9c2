"""What auth_token concluded about the tokens this process saw lately.

For a token auth_token has already validated, every request repeats the
same work: read memcached, decode the token data, parse its expiry,
remove and set two dozen headers through WebOb, serialise the catalog.
The answer depends on the token alone, so :class:`AuthProtocol
<cloudprefs.api.middleware.keystone.AuthProtocol>` keeps it here as an
:class:`Identity` — the WSGI environ entries auth_token set, and the
token's expiry — and applies it to the next requests with that token.

What stays per request, so nothing is weakened:

- the expiry is compared with the clock on every request;
- an identity is used for at most CHECK_SECONDS after auth_token's cache
  (or Keystone) last confirmed the token data. The first request after
  RECHECK_SECONDS asks auth_token's cache again and goes on only if the
  data there is the same; requests with the same token meanwhile are
  served only while CHECK_SECONDS have not passed (one question to the
  cache, not one per concurrent request). auth_token keeps a validation
  for ``token_cache_time`` and then asks Keystone, so a revoked token is
  refused at most ``token_cache_time`` + CHECK_SECONDS after it was
  cached, as before;
- a client's copies of the identity headers are removed first.
"""

import time

CHECK_SECONDS = 1.0
RECHECK_SECONDS = 0.9
# An identity holds the token data (with the catalog, when auth_token
# asks for it, tens of kilobytes); the memory is bounded in both count and
# time. Identities not used for IDLE_SECONDS are dropped.
MAX_TOKENS = 1000
IDLE_SECONDS = 60.0
PURGE_SECONDS = 10.0

# Every header auth_token sets from a token, and so removes from a client's
# request (keystonemiddleware's remove_auth_headers; a unit test checks the
# two lists agree), and OpenStack-System-Scope, which auth_token sets but
# does not remove.
IDENTITY_HEADERS = (
    'X-Identity-Status', 'X-Service-Identity-Status',
    'X-Domain-Id', 'X-Domain-Name',
    'X-Project-Id', 'X-Project-Name',
    'X-Project-Domain-Id', 'X-Project-Domain-Name',
    'X-User-Id', 'X-User-Name', 'X-User-Domain-Id', 'X-User-Domain-Name',
    'X-Roles', 'X-Is-Admin-Project', 'X-Service-Catalog',
    'X-Service-Domain-Id', 'X-Service-Domain-Name',
    'X-Service-Project-Id', 'X-Service-Project-Name',
    'X-Service-Project-Domain-Id', 'X-Service-Project-Domain-Name',
    'X-Service-User-Id', 'X-Service-User-Name',
    'X-Service-User-Domain-Id', 'X-Service-User-Domain-Name',
    'X-Service-Roles',
    # Deprecated names auth_token still sets.
    'X-Role', 'X-User', 'X-Tenant-Id', 'X-Tenant-Name', 'X-Tenant',
    'OpenStack-System-Scope',
)
IDENTITY_ENVIRON_KEYS = frozenset(
    'HTTP_' + name.upper().replace('-', '_') for name in IDENTITY_HEADERS)
# What else auth_token leaves in the environ for the application.
TOKEN_ENVIRON_KEYS = ('keystone.token_info', 'keystone.token_auth')


def remove_identity_headers(environ):
    """Remove the identity headers a client sent."""
    for key in IDENTITY_ENVIRON_KEYS.intersection(environ):
        del environ[key]


def identity_entries(environ):
    """The environ entries auth_token set for a confirmed token."""
    entries = {key: value for key, value in environ.items()
               if key in IDENTITY_ENVIRON_KEYS}
    for key in TOKEN_ENVIRON_KEYS:
        if key in environ:
            entries[key] = environ[key]
    return entries


class Identity:
    """auth_token's answer for one token.

    ``environ``: the entries to put in a request's environ (the identity
    headers and the token data); ``token_data``: the data auth_token's
    cache gave, to compare with on the next check; ``expires_at``: the
    token's expiry (seconds since the epoch); ``confirmed_at``: when
    (monotonic clock) auth_token's cache last gave that data;
    ``rechecking``: whether a request is asking it again now.
    """

    __slots__ = ('environ', 'token_data', 'expires_at', 'confirmed_at',
                 'rechecking')

    def __init__(self, environ, token_data, expires_at, confirmed_at):
        self.environ = environ
        self.token_data = token_data
        self.expires_at = expires_at
        self.confirmed_at = confirmed_at
        self.rechecking = False


class KnownTokens:
    """The identities of the tokens this process saw lately, by token.

    Bounded: identities whose token expired or that were not used for
    IDLE_SECONDS are dropped every PURGE_SECONDS, and when MAX_TOKENS are
    held the oldest tenth goes.
    """

    def __init__(self, clock=time.monotonic, max_tokens=MAX_TOKENS):
        self.clock = clock
        self.max_tokens = max_tokens
        self._identities = {}
        self._purge_at = 0.0

    def __len__(self):
        return len(self._identities)

    def get(self, token):
        return self._identities.get(token)

    def forget(self, token):
        self._identities.pop(token, None)

    def remember(self, token, environ, token_data, expires_at):
        now = self.clock()
        if now >= self._purge_at or len(self._identities) >= self.max_tokens:
            self._purge(now)
        identity = Identity(environ, token_data, expires_at, now)
        self._identities[token] = identity
        return identity

    def _purge(self, now):
        idle_since = now - IDLE_SECONDS
        expired_before = time.time()
        kept = {token: identity for token, identity
                in self._identities.items()
                if identity.confirmed_at > idle_since
                and identity.expires_at > expired_before}
        if len(kept) >= self.max_tokens:
            # Dicts keep insertion order: the oldest tenth goes, so that
            # a purge is rare and most of the memory stays useful.
            tokens = list(kept)
            kept = {token: kept[token]
                    for token in tokens[len(tokens) // 10 + 1:]}
        self._identities = kept
        self._purge_at = now + PURGE_SECONDS
