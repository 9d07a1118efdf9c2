"""Typed errors for the service's answers.

The service answers every error with ``{"errors": [{"status", "code",
"title", "detail", "request_id"}]}``; each exception keeps those, so a
caller can tell a quota from a policy refusal (both 403) by ``code`` and
quote the request id to an operator.
"""


class ClientError(Exception):
    """An error answer of the service (any 4xx or 5xx)."""

    status = None

    def __init__(self, status, code=None, title=None, detail=None,
                 request_id=None):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self):
        text = '%s (HTTP %s' % (self.title or 'Error', self.status)
        if self.code:
            text += ', %s' % self.code
        text += ')'
        if self.detail:
            text += ': %s' % self.detail
        if self.request_id:
            text += ' (Request-ID: %s)' % self.request_id
        return text


class VersionNotAvailable(Exception):
    """A call needs an API microversion above the one the client uses
    (the newest the service has, or the one it was given)."""


class BadRequest(ClientError):
    status = 400


class Unauthorized(ClientError):
    status = 401


class Forbidden(ClientError):
    status = 403


class QuotaExceeded(Forbidden):
    """A 403 with code ``cloudprefs.quota_exceeded``."""


class NotFound(ClientError):
    status = 404


class NotAcceptable(ClientError):
    """406: the service does not have the API version asked for."""
    status = 406


class Conflict(ClientError):
    status = 409


class CursorExpired(ClientError):
    """410 ``cloudprefs.cursor_expired``: the change-feed cursor is older
    than the tombstones the service keeps; read everything again."""
    status = 410


class PreconditionFailed(ClientError):
    status = 412


class RequestTooLarge(ClientError):
    status = 413


class ServiceUnavailable(ClientError):
    status = 503


_BY_STATUS = {cls.status: cls for cls in (
    BadRequest, Unauthorized, Forbidden, NotFound, NotAcceptable, Conflict,
    CursorExpired, PreconditionFailed, RequestTooLarge, ServiceUnavailable)}
_BY_CODE = {'cloudprefs.quota_exceeded': QuotaExceeded}


def from_response(response):
    """The exception for an error ``response`` (a requests.Response)."""
    request_id = response.headers.get('X-Openstack-Request-Id')
    error = {}
    try:
        errors = response.json().get('errors')
        if errors and isinstance(errors[0], dict):
            error = errors[0]
    except (ValueError, AttributeError):
        pass        # not the service's format: a proxy's page, say
    code = error.get('code')
    cls = (_BY_CODE.get(code)
           or _BY_STATUS.get(response.status_code, ClientError))
    detail = error.get('detail')
    if detail is None and not error:
        detail = response.text[:200].strip() or None
    return cls(response.status_code, code=code,
               title=error.get('title') or response.reason,
               detail=detail,
               request_id=error.get('request_id') or request_id)
