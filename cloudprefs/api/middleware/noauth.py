"""The ``noauth`` filter: trusts X-User-Id (and X-Roles) from the client.

For development and tests only: anyone who can reach the service can act
as any user. The API process logs a warning at start-up when it is used.
"""

from cloudprefs.api import errors
from cloudprefs.api import request as api_request

MAX_USER_ID_BYTES = 255


def user_id_from_header(value):
    """The user id in an X-User-Id header, or None if it is not valid.

    WSGI gives header values as latin-1 strings; the id is their UTF-8
    reading: 1 to 255 bytes of printable characters.
    """
    if value is None:
        return None
    raw = value.encode('latin-1', 'replace')
    try:
        user_id = raw.decode('utf-8')
    except UnicodeDecodeError:
        return None
    if not 0 < len(raw) <= MAX_USER_ID_BYTES or not user_id.isprintable():
        return None
    return user_id


def roles_from_header(value):
    if not value:
        return ()
    return tuple(role.strip() for role in value.split(',') if role.strip())


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
        environ[api_request.USER_ID_KEY] = user_id
        environ[api_request.ROLES_KEY] = roles_from_header(
            environ.get('HTTP_X_ROLES'))
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    return NoAuth
