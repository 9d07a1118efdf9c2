"""The request class the handlers see."""

import webob

# WSGI environ keys set by the pipeline.
USER_ID_KEY = 'cloudprefs.user_id'
ROLES_KEY = 'cloudprefs.roles'
APP_KEY = 'cloudprefs.app'


class Request(webob.Request):
    """A WebOb request with the caller's identity and the application."""

    @property
    def user_id(self):
        return self.environ[USER_ID_KEY]

    @property
    def roles(self):
        return self.environ.get(ROLES_KEY, ())

    @property
    def storage(self):
        return self.environ[APP_KEY].storage

    @property
    def limits(self):
        """The loaded ``[api]`` option group."""
        return self.environ[APP_KEY].limits
