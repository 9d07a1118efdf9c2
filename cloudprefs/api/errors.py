"""The one error format of the API, and its stable error codes.

Every error body is::

    {"errors": [{"status": 404, "code": "cloudprefs.not_found",
                 "title": "Not Found", "detail": "...",
                 "request_id": "req-..."}]}

Codes are a public interface: once published, a code keeps its meaning.
"""

import http
import json

import webob

REQUEST_ID_KEY = 'openstack.request_id'

# Stable error codes.
BAD_REQUEST = 'cloudprefs.bad_request'
INVALID_JSON = 'cloudprefs.invalid_json'
INVALID_PATH = 'cloudprefs.invalid_path'
NOT_AN_OBJECT = 'cloudprefs.not_an_object'
EMPTY_BODY = 'cloudprefs.empty_body'
TOO_DEEP = 'cloudprefs.too_deep'
UNAUTHENTICATED = 'cloudprefs.unauthenticated'
FORBIDDEN = 'cloudprefs.forbidden'
NOT_FOUND = 'cloudprefs.not_found'
METHOD_NOT_ALLOWED = 'cloudprefs.method_not_allowed'
PATH_CONFLICT = 'cloudprefs.path_conflict'
PATCH_CONFLICT = 'cloudprefs.patch_conflict'
INVALID_PATCH = 'cloudprefs.invalid_patch'
INVALID_API_VERSION = 'cloudprefs.invalid_api_version'
API_VERSION_NOT_AVAILABLE = 'cloudprefs.api_version_not_available'
BODY_TOO_LARGE = 'cloudprefs.body_too_large'
LENGTH_REQUIRED = 'cloudprefs.length_required'
CONTAINER_TOO_LARGE = 'cloudprefs.container_too_large'
PRECONDITION_FAILED = 'cloudprefs.precondition_failed'
UNSUPPORTED_MEDIA_TYPE = 'cloudprefs.unsupported_media_type'
QUOTA_EXCEEDED = 'cloudprefs.quota_exceeded'
CURSOR_EXPIRED = 'cloudprefs.cursor_expired'
BACKEND_UNAVAILABLE = 'cloudprefs.backend_unavailable'
AUTH_UNAVAILABLE = 'cloudprefs.auth_unavailable'
INTERNAL_ERROR = 'cloudprefs.internal_error'
# Answered by cloudprefs-api's HTTP layer, before the pipeline
# (cloudprefs.protocol).
NOT_IMPLEMENTED = 'cloudprefs.not_implemented'
TOO_MANY_CONNECTIONS = 'cloudprefs.too_many_connections'
URI_TOO_LONG = 'cloudprefs.uri_too_long'
HEADERS_TOO_LARGE = 'cloudprefs.headers_too_large'
HTTP_VERSION_NOT_SUPPORTED = 'cloudprefs.http_version_not_supported'


class APIError(Exception):
    """Raised by handlers; the application turns it into a response."""

    def __init__(self, status, code, detail, headers=None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def error_body(status, code, detail, request_id):
    """The JSON error document, as bytes."""
    error = {
        'status': status,
        'code': code,
        'title': http.HTTPStatus(status).phrase,
        'detail': detail,
        'request_id': request_id,
    }
    return json.dumps({'errors': [error]}).encode('utf-8')


def error_response(environ, status, code, detail, headers=None):
    """Build the JSON error response for ``environ``'s request."""
    body = error_body(status, code, detail, environ.get(REQUEST_ID_KEY))
    response = webob.Response(status=status, body=body,
                              content_type='application/json',
                              charset=None)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def response_for(environ, error):
    return error_response(environ, error.status, error.code, error.detail,
                          error.headers)
