"""The exceptions every storage driver raises; the API maps each to HTTP."""


class StorageError(Exception):
    """Base of every storage exception."""


class NotFound(StorageError):
    """The container, or the value at the key path, does not exist."""


class PathConflict(StorageError):
    """A key-path segment meets a value that is not an object."""

    def __init__(self, path):
        self.path = list(path)
        super().__init__('segment %d of the key path meets a value that is '
                         'not an object' % len(self.path))


class PatchConflict(StorageError):
    """A JSON Patch operation cannot apply: its ``test`` failed, or a
    location it names does not exist. Nothing was changed."""

    def __init__(self, index, operation, reason):
        self.index = index            # of the operation, from 0
        self.operation = operation    # e.g. 'replace /a/b'
        self.reason = reason
        super().__init__('operation %d (%s): %s' % (index, operation,
                                                    reason))


class TooDeep(StorageError):
    """A write would nest values more levels down than allowed."""

    def __init__(self, depth, limit):
        self.depth = depth
        self.limit = limit
        super().__init__('the write would nest %d levels; the limit is %d'
                         % (depth, limit))


class TooLarge(StorageError):
    """The write would grow the container past the configured size."""

    def __init__(self, size, limit):
        self.size = size
        self.limit = limit
        super().__init__('the container would be %d bytes; the limit is %d'
                         % (size, limit))


class RevisionMismatch(StorageError):
    """A write's precondition failed (If-Match / If-None-Match).

    ``current`` is the container's revision, or None if it does not exist.
    """

    def __init__(self, current):
        self.current = current
        super().__init__('the container is at revision %s' % current)


class QuotaExceeded(StorageError):
    """The write would take the user past a configured quota."""

    def __init__(self, quota, limit):
        self.quota = quota      # 'containers' or 'bytes'
        self.limit = limit
        super().__init__('the write would exceed the %s quota of %d'
                         % (quota, limit))


class CursorExpired(StorageError):
    """A change-feed cursor is behind the tombstones kept (a deletion
    after it may be forgotten) or not a position of the user's feed; the
    reader has to read everything again."""

    def __init__(self, cursor):
        self.cursor = cursor
        super().__init__('cursor %d cannot be followed' % cursor)


class BackendUnavailable(StorageError):
    """The database cannot be reached or did not answer in time.

    Wraps the driver's own exception in ``__cause__``; its text may carry
    host names or credentials and is logged, never shown to clients.
    """


class BackendError(StorageError):
    """The database refused an operation for an unexpected reason."""


class TransientError(StorageError):
    """The operation failed but may succeed if run again.

    Deadlocks, serialization and Galera certification failures, a lost or
    refused connection, a MongoDB primary stepping down or a network
    timeout. Drivers raise it (wrapping their own exception in
    ``__cause__``); the base driver's retry policy runs the operation
    again until its deadline and then raises BackendUnavailable, so it
    never reaches the API.
    """


class SchemaNotReady(StorageError):
    """The database schema is missing or older than the code needs.

    The message says what to run; the service refuses to start.
    """
