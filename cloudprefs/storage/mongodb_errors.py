"""How the MongoDB driver turns pymongo's errors into storage
exceptions, and caps every wait by the operation's deadline."""

import contextlib

import pymongo
from pymongo import errors as mongo_errors

from cloudprefs.storage import exceptions
from cloudprefs.storage import retry

# Server error codes worth another attempt: a primary stepping down or
# going away, a node shutting down, a write conflict, network trouble seen
# by the server (mongod's own error_codes.yml).
TRANSIENT_CODES = {
    6,      # HostUnreachable
    7,      # HostNotFound
    89,     # NetworkTimeout
    91,     # ShutdownInProgress
    112,    # WriteConflict
    189,    # PrimarySteppedDown
    262,    # ExceededTimeLimit
    9001,   # SocketException
    10107,  # NotWritablePrimary
    11600,  # InterruptedAtShutdown
    11602,  # InterruptedDueToReplStateChange
    13435,  # NotPrimaryNoSecondaryOk
    13436,  # NotPrimaryOrSecondary
}
TOO_LARGE_CODES = {10334, 17419, 17420}    # BSONObjectTooLarge and kin


def is_transient(error):
    """Whether another attempt may succeed."""
    if isinstance(error, (mongo_errors.ConnectionFailure,  # AutoReconnect,
                          mongo_errors.ExecutionTimeout,   # NotPrimary...
                          mongo_errors.WTimeoutError)):
        return True
    if getattr(error, 'code', None) in TRANSIENT_CODES:
        return True
    return any(error.has_error_label(label) for label in (
        'RetryableWriteError', 'TransientTransactionError'))


@contextlib.contextmanager
def translated(max_container_size):
    """Turn pymongo's errors into storage exceptions; wait no longer than
    the operation's deadline (pymongo's timeout covers server selection,
    the pool and the server's answer)."""
    try:
        left = retry.time_left()
        if left is None:
            yield
        else:
            with pymongo.timeout(max(left, 0.001)):
                yield
    except mongo_errors.DocumentTooLarge as error:
        raise exceptions.TooLarge(-1, max_container_size) from error
    except mongo_errors.PyMongoError as error:
        if is_transient(error):
            raise exceptions.TransientError(type(error).__name__) \
                from error
        if getattr(error, 'code', None) in TOO_LARGE_CODES:
            raise exceptions.TooLarge(-1, max_container_size) from error
        raise exceptions.BackendError('database error') from error
