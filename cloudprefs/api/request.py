"""The request class the handlers see, and the identity it carries."""

import webob

# WSGI environ keys set by the pipeline.
CONTEXT_KEY = 'cloudprefs.context'   # oslo.context RequestContext (auth)
OWNER_KEY = 'cloudprefs.owner_id'    # whose data the request acts on (app)
LAYER_KEY = 'cloudprefs.layer'       # the same, as a storage.owners.Owner
APP_KEY = 'cloudprefs.app'
API_VERSION_KEY = 'cloudprefs.api_version'  # microversion asked for (app)
# Set by the server integration (cloudprefs-api, uwsgi): a callable that
# returns the file descriptor of the request's connection, so that a held
# request sees its client hang up.
CONNECTION_FD_KEY = 'cloudprefs.connection_fd'

MAX_USER_ID_BYTES = 255


def is_valid_user_id(user_id):
    """1 to 255 bytes of UTF-8, every character printable."""
    return (0 < len(user_id.encode('utf-8', 'surrogatepass'))
            <= MAX_USER_ID_BYTES and user_id.isprintable())


class Request(webob.Request):
    """A WebOb request with the caller's identity and the application."""

    @property
    def context(self):
        """The caller's oslo.context RequestContext."""
        return self.environ[CONTEXT_KEY]

    @property
    def owner_id(self):
        """The storage key of whose data this request reads or changes:
        the caller, the user named by ?user_id= when policy allows it, or
        a shared layer (?scope=, see :mod:`cloudprefs.storage.owners`)."""
        return self.environ[OWNER_KEY]

    @property
    def layer(self):
        """The :class:`~cloudprefs.storage.owners.Owner` the request acts
        on: the user of :attr:`owner_id`, or a shared layer."""
        return self.environ[LAYER_KEY]

    @property
    def api_version(self):
        """The microversion the request asked for (see
        :mod:`cloudprefs.api.microversion`); compare it with a tuple."""
        return self.environ[API_VERSION_KEY]

    @property
    def storage(self):
        return self.environ[APP_KEY].storage

    @property
    def authorizer(self):
        """The application's
        :class:`~cloudprefs.policies.enforcer.Authorizer`."""
        return self.environ[APP_KEY].authorizer

    @property
    def feed_waiters(self):
        """The process's :class:`~cloudprefs.api.waiting.FeedWaiters`."""
        return self.environ[APP_KEY].feed_waiters

    @property
    def changes_conf(self):
        """The loaded ``[changes]`` option group."""
        return self.environ[APP_KEY].changes_conf

    @property
    def limits(self):
        """The loaded ``[api]`` option group."""
        return self.environ[APP_KEY].limits
