"""Client input in log lines, made harmless.

A path, a header or a query value can carry a newline (``%0A`` in a path
is decoded before the application sees it), a carriage return or a
terminal escape sequence; written to a log as it is, it starts a line
that looks like the service's own, or rewrites the operator's terminal.
Every control character (C0, DEL, C1, and the Unicode line and paragraph
separators) is written as its Python escape instead.
"""

import logging
import re

_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]')


def _escape_one(match):
    return repr(match.group())[1:-1]


def escape(text):
    """``text`` with its control characters escaped (``\\n``,
    ``\\x1b``...); the same object when it has none."""
    if not isinstance(text, str):
        text = str(text)
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape_one, text)


class EscapeControlCharacters(logging.Filter):
    """A handler filter: no log record's message can hold a line break or
    another control character, whoever logged it. (Tracebacks are not the
    message: they keep their lines.)"""

    def filter(self, record):
        message = record.getMessage()
        escaped = escape(message)
        if escaped is not message:
            record.msg, record.args = escaped, None
        return True


def install(logger=None):
    """Add the filter to every handler of ``logger`` (the root logger by
    default) that does not have it yet."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(existing, EscapeControlCharacters)
                   for existing in handler.filters):
            handler.addFilter(EscapeControlCharacters())
