"""The ``noauth`` filter: trusts X-User-Id (and X-Roles, and
OpenStack-System-Scope, which oslo.context reads) from the client.

For development and tests only: anyone who can reach the service can act
as any user, with any role. The API process logs a warning at start-up
when it is used.
"""

from oslo_context import context

from cloudprefs.api import errors
from cloudprefs.api import request as api_request


def user_id_from_header(value):
    """The user id in an X-User-Id header, or None if it is not valid.

    WSGI gives header values as latin-1 strings; the id is their UTF-8
    reading: 1 to 255 bytes of printable characters.
    """
    if value is None:
        return None
    try:
        user_id = value.encode('latin-1').decode('utf-8')
    except UnicodeError:
        return None
    return user_id if api_request.is_valid_user_id(user_id) else None


def roles_from_header(value):
    if not value:
        return []
    return [role.strip() for role in value.split(',') if role.strip()]


class NoAuth:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        user_id = user_id_from_header(environ.get('HTTP_X_USER_ID'))
        if user_id is None:
            response = errors.error_response(
                environ, 401, errors.UNAUTHENTICATED,
                'Send X-User-Id: 1 to 255 bytes of printable UTF-8 '
                'characters.')
            return response(environ, start_response)
        environ[api_request.CONTEXT_KEY] = context.RequestContext.from_environ(
            environ, user_id=user_id,
            roles=roles_from_header(environ.get('HTTP_X_ROLES')))
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    return NoAuth
