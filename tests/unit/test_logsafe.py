"""No client input can forge a log line."""

import logging

import webob

from cloudprefs.api.middleware import catch_errors
from cloudprefs.service import logsafe


def test_escape_control_characters():
    assert logsafe.escape('plain ünïcode 🦄') == 'plain ünïcode 🦄'
    assert logsafe.escape('a\nb\rc\x00d\x1b[31me\x7f\x85f\u2028g') == (
        'a\\nb\\rc\\x00d\\x1b[31me\\x7f\\x85f\\u2028g')
    assert logsafe.escape(None) == 'None'


def _handler_with_filter():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(logsafe.EscapeControlCharacters())
    return handler, records


def test_the_filter_escapes_every_message():
    handler, lines = _handler_with_filter()
    logger = logging.getLogger('test-logsafe')
    logger.addHandler(handler)
    try:
        logger.warning('user %s did %s', 'eve\n2026-12-02 INFO fake',
                       '\x1b]0;pwned\x07')
        logger.warning('no arguments \n here')
        try:
            raise ValueError('boom')
        except ValueError:
            logger.exception('with a %s', 'trace\nback')
    finally:
        logger.removeHandler(handler)
    assert lines[0] == ('user eve\\n2026-12-02 INFO fake did '
                        '\\x1b]0;pwned\\x07')
    assert lines[1] == 'no arguments \\n here'
    first, *traceback = lines[2].split('\n')
    assert first == 'with a trace\\nback'
    assert traceback[0].startswith('Traceback')     # kept as lines


def test_install_adds_the_filter_once():
    logger = logging.getLogger('test-logsafe-install')
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        logsafe.install(logger)
        logsafe.install(logger)
        assert sum(isinstance(f, logsafe.EscapeControlCharacters)
                   for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


def test_the_crash_handler_logs_the_path_escaped(caplog):
    def failing(environ, start_response):
        raise RuntimeError('bug')

    app = catch_errors.CatchErrors(failing)
    request = webob.Request.blank('/v1/c%0A2026-12-02%20CRITICAL%20forged')
    with caplog.at_level(logging.ERROR):
        response = request.get_response(app)
    assert response.status_int == 500
    assert 'forged' in caplog.text
    assert '\n2026-12-02 CRITICAL forged' not in caplog.text
    assert '/v1/c\\n2026-12-02 CRITICAL forged' in caplog.text
