"""What the API answers when the storage refuses a request: one entry of
a table per storage exception (:mod:`cloudprefs.storage.exceptions`).

A refusal is the client's to mend (4xx). Anything not in the table is a
database failure, which the application answers with 503 and logs.
"""

from cloudprefs.api import body
from cloudprefs.api import conditional
from cloudprefs.api import errors
from cloudprefs.storage import exceptions


def _not_found(error):
    return errors.APIError(404, errors.NOT_FOUND,
                           'The container or key does not exist.')


def _path_conflict(error):
    return errors.APIError(
        409, errors.PATH_CONFLICT,
        'The key path meets a value that is not an object at segment %d; '
        'nothing was changed.' % len(error.path))


def _patch_conflict(error):
    return errors.APIError(
        409, errors.PATCH_CONFLICT,
        'Operation %d of the patch (%s) cannot apply: %s; nothing was '
        'changed.' % (error.index, error.operation, error.reason))


def _too_deep(error):
    return body.too_deep(error.depth, error.limit)


def _precondition_failed(error):
    headers = {}
    if error.current is not None:
        headers['ETag'] = conditional.etag(error.current)
    return errors.APIError(
        412, errors.PRECONDITION_FAILED,
        'The container does not meet the If-Match or If-None-Match '
        'condition (it is %s); nothing was changed.'
        % ('missing' if error.current is None
           else 'at the revision in ETag'),
        headers=headers)


def _quota_exceeded(error):
    return errors.APIError(
        403, errors.QUOTA_EXCEEDED,
        'The write would exceed your %s quota of %d; nothing was changed.'
        % (error.quota, error.limit))


def _cursor_expired(error):
    return errors.APIError(
        410, errors.CURSOR_EXPIRED,
        'The cursor is older than the changes kept (or not a cursor of '
        'this feed): read every container again, then follow the feed '
        'from the X-Cursor of that listing.')


def _too_large(error):
    return errors.APIError(
        413, errors.CONTAINER_TOO_LARGE,
        'The write would make the container larger than %d bytes of '
        'compact JSON; nothing was changed.' % error.limit)


REFUSALS = {
    exceptions.NotFound: _not_found,
    exceptions.PathConflict: _path_conflict,
    exceptions.PatchConflict: _patch_conflict,
    exceptions.TooDeep: _too_deep,
    exceptions.RevisionMismatch: _precondition_failed,
    exceptions.QuotaExceeded: _quota_exceeded,
    exceptions.CursorExpired: _cursor_expired,
    exceptions.TooLarge: _too_large,
}


def refusal(error):
    """The :class:`~cloudprefs.api.errors.APIError` of a storage refusal;
    None for a database failure (BackendUnavailable, BackendError)."""
    for cls in type(error).__mro__:
        make = REFUSALS.get(cls)
        if make is not None:
            return make(error)
    return None
