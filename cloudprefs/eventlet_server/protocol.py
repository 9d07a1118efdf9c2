"""HTTP for cloudprefs-api: eventlet.wsgi's protocol, made hard to abuse.

eventlet.wsgi serves each connection in a green thread of a bounded pool
and, left as it is, lets a client hold that thread for as long as it
likes: a connection that never sends a request, or sends its head a byte
at a time, keeps its slot, and a client with a thousand of them locks
everyone else out. It also frames requests loosely (``0x7`` as a chunk
size, junk after a chunk, ``Transfer-Encoding: xchunked``), which a proxy
in front may read differently: request smuggling. Here:

* a request head (request line and headers) must arrive within
  ``client_header_timeout`` of its first byte, or of the connection being
  accepted; a kept-alive connection may wait ``client_socket_timeout``
  for its next request;
* a worker holds at most ``green_pool_size`` connections: a new one
  closes the connection that has waited longest for a request (idle or
  still sending its head), or, when every one is inside a request, is
  answered 503 and closed;
* Content-Length must be one decimal number, Transfer-Encoding exactly
  ``chunked`` (another coding: 501), not both; chunked bodies are decoded
  strictly. Anything else is refused with 400 and the connection closed,
  so that no byte of it can be read as another request.
"""

import http
import logging
import re
import socket
import time
import uuid

import eventlet
from eventlet import greenio
from eventlet import wsgi

from cloudprefs.api import errors
from cloudprefs.api import request as api_request
from cloudprefs.service import logsafe

LOG = logging.getLogger(__name__)

_DECIMAL = re.compile(r'[0-9]{1,18}')   # past 4,300 digits int() fails
_CHUNK_SIZE = re.compile(rb'([0-9A-Fa-f]{1,16})(?:[ \t]*;[^\r\n]*)?\r\n')
MAX_TRAILER_LINES = 32
_FOREVER = 10 ** 9     # seconds: a client_socket_timeout of 0


_PARSE_ERROR_CODES = {414: errors.URI_TOO_LONG,
                      431: errors.HEADERS_TOO_LARGE,
                      505: errors.HTTP_VERSION_NOT_SUPPORTED}


def _error_bytes(status, code, detail, extra_headers=b'', head_only=False):
    """A complete HTTP error response in our JSON format (without its body
    to a HEAD); the connection is closed after it."""
    request_id = 'req-' + str(uuid.uuid4())
    reason = http.HTTPStatus(status).phrase.encode()
    body = errors.error_body(status, code, detail, request_id)
    return (b'HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n'
            b'Content-Length: %d\r\nX-Openstack-Request-Id: %s\r\n%s'
            b'Connection: close\r\n\r\n%s' % (
                status, reason, len(body), request_id.encode(),
                extra_headers, b'' if head_only else body))


class StrictChunkedInput(wsgi.Input):
    """eventlet's request body reader, with chunks decoded by the letter
    of RFC 9112: a chunk size is hex digits (and extensions), every chunk
    ends with CRLF, and the trailer section is bounded. Anything else
    raises ChunkReadError (a ValueError), which the application answers
    with 400."""

    def _chunked_read(self, rfile, length=None, use_readline=False):
        if self.should_send_hundred_continue:
            self.send_hundred_continue_response()
            self.is_hundred_continue_response_sent = True
        if length == 0:
            return b''
        if length is not None and length < 0:
            length = None
        pieces = []
        while self.chunk_length != 0:
            if self.chunk_length == -1 or self.position == self.chunk_length:
                self._next_chunk(rfile)
                continue
            wanted = self.chunk_length - self.position
            if length is not None:
                wanted = min(wanted, length)
            data = rfile.read(wanted)
            if not data:
                raise OSError('the connection closed inside a chunk')
            pieces.append(data)
            self.position += len(data)
            if self.position == self.chunk_length:
                if rfile.read(2) != b'\r\n':
                    raise wsgi.ChunkReadError('a chunk is not followed by '
                                              'CRLF')
            if length is not None:
                length -= len(data)
                if length == 0:
                    break
        return b''.join(pieces)

    def _next_chunk(self, rfile):
        line = rfile.readline(1024)
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            if not line:
                raise OSError('the connection closed before a chunk')
            raise wsgi.ChunkReadError('malformed chunk size line')
        self.chunk_length = int(match.group(1), 16)
        self.position = 0
        if self.chunk_length == 0:
            for _ in range(MAX_TRAILER_LINES):
                line = rfile.readline(8192)
                if line == b'\r\n':
                    return
                if not line.endswith(b'\r\n'):
                    break
            raise wsgi.ChunkReadError('malformed trailer section')

    def readline(self, size=None):
        # Never used by the application; a line reader over strict
        # chunks would be one more parser to get right.
        raise NotImplementedError('read() the body')


class ConnectionLimit:
    """The connections of one worker: which may be closed for others, and
    when each must be closed for taking too long.

    The listener counts a connection in when it admits it; its protocol
    says when it starts waiting for a request (idle, or its head on the
    way) and when the head has come, and counts it out when it ends. A
    connection that is not inside a request has a deadline, which
    :meth:`sweep` enforces: one pass a second for the whole worker costs
    less than a timer per request.
    """

    SWEEP_INTERVAL = 0.5

    def __init__(self, capacity, clock=time.monotonic):
        self.capacity = capacity
        self.open = 0
        self._clock = clock
        # protocol -> (waiting since, deadline, why it is closed then),
        # for the connections that are not inside a request.
        self._waiting = {}

    def admit(self):
        """Count a new connection in if there is room, closing the one
        that has waited longest for a request if needed; False when every
        connection is inside a request."""
        if self.open >= self.capacity:
            # Connections just admitted are not waiting yet: their green
            # threads have not run. Let them, before concluding that
            # every connection is busy.
            for _attempt in range(3):
                if self._make_room():
                    break
                eventlet.sleep(0)
            else:
                return False
        self.open += 1
        return True

    def closed(self, protocol):
        self.open -= 1
        self._waiting.pop(protocol, None)

    def waiting(self, protocol, seconds, why):
        """The connection waits for (the rest of) a request head, for at
        most ``seconds``; then it is closed, and ``why`` logged."""
        now = self._clock()
        since = self._waiting.get(protocol, (now,))[0]
        self._waiting[protocol] = (since, now + seconds, why)

    def serving(self, protocol):
        self._waiting.pop(protocol, None)

    def sweep(self):
        """Close the connections past their deadline."""
        now = self._clock()
        late = [(protocol, why) for protocol, (_since, deadline, why)
                in self._waiting.items() if deadline <= now]
        for protocol, why in late:
            del self._waiting[protocol]
            protocol.close_for(why)

    def sweep_forever(self):
        while True:
            eventlet.sleep(self.SWEEP_INTERVAL)
            self.sweep()

    def _make_room(self):
        if not self._waiting:
            return False
        oldest = min(self._waiting, key=lambda protocol:
                     self._waiting[protocol][0])
        del self._waiting[oldest]
        oldest.close_for('it waited longest for a request, and another '
                         'connection needs its place')
        return True


class LimitedListener:
    """The listening socket, admitting a connection only when the worker
    has room for it (see :class:`ConnectionLimit`)."""

    def __init__(self, sock, limit):
        self._sock = sock
        self._limit = limit

    def accept(self):
        while True:
            client, address = self._sock.accept()
            if self._limit.admit():
                return client, address
            LOG.warning('Refusing a connection from %s: all %d connections '
                        'of this worker are inside requests',
                        address[0], self._limit.capacity)
            try:
                client.sendall(_error_bytes(
                    503, errors.TOO_MANY_CONNECTIONS,
                    'This server is serving as many connections as it may; '
                    'retry later.', b'Retry-After: 1\r\n'))
            except OSError:
                pass
            greenio.shutdown_safe(client)
            client.close()

    def __getattr__(self, name):
        return getattr(self._sock, name)


def make_protocol(limit, header_timeout, idle_timeout):
    """The protocol class eventlet.wsgi.server serves connections with."""

    class Protocol(wsgi.HttpProtocol):

        _requests = 0
        _closed_by_server = False

        def finish(self):
            limit.closed(self)
            super().finish()

        def close_for(self, why):
            """Close this connection from outside its green thread (which
            then reads the end of the stream and stops)."""
            LOG.info('Closing a connection from %s: %s',
                     self.client_address[0], why)
            self._closed_by_server = True
            self.close_connection = 1
            greenio.shutdown_safe(self.connection)

        def handle_one_request(self):
            try:
                super().handle_one_request()
            except OSError:
                if not self._closed_by_server:
                    raise
                self.close_connection = 1   # it was shut down under it

        def _read_request_line(self):
            if self._requests:
                # Kept alive: idle until the next request's first byte,
                # then its head has the head deadline.
                limit.waiting(self, idle_timeout or _FOREVER,
                              'it stayed idle for more than %g s'
                              % idle_timeout)
                try:
                    if not self.rfile.peek(1):
                        return ''
                except (OSError, ValueError):
                    return ''
            # A new connection's head has the deadline from its accept.
            limit.waiting(self, header_timeout,
                          'its request head took more than %g s'
                          % header_timeout)
            self._requests += 1
            try:
                line = super()._read_request_line()
            except socket.timeout:
                return ''
            if len(line) >= self.server.url_length_limit:
                self.send_error(414, 'The request line is longer than %d '
                                'bytes.' % self.server.url_length_limit)
                return ''
            return line

        def parse_request(self):
            try:
                if not super().parse_request():
                    return False
            except (wsgi.HeaderLineTooLong, wsgi.HeadersTooLarge):
                self.send_error(431, 'The request head is too large.')
                return False
            limit.serving(self)
            refusal = self._framing_refusal()
            if refusal is not None:
                LOG.info('Refusing a request from %s: %s',
                         self.client_address[0], logsafe.escape(refusal[2]))
                self.wfile.write(_error_bytes(
                    *refusal, head_only=self.command == 'HEAD'))
                self.wfile.flush()
                self.close_connection = 1
                return False
            return True

        def send_error(self, code, message=None, explain=None):
            """http.server's answer to a request it cannot parse, in our
            JSON error format; the connection is closed after it."""
            self.close_connection = 1
            if self._closed_by_server:
                return      # its head was cut short: nobody to answer
            self.wfile.write(_error_bytes(
                code, _PARSE_ERROR_CODES.get(code, errors.BAD_REQUEST),
                message or http.HTTPStatus(code).phrase,
                head_only=getattr(self, 'command', None) == 'HEAD'))
            self.wfile.flush()

        def _framing_refusal(self):
            """Why the request's framing is refused (status, code,
            detail), or None."""
            lengths = self.headers.get_all('Content-Length') or []
            codings = self.headers.get_all('Transfer-Encoding') or []
            if len(set(lengths)) > 1 or any(
                    not _DECIMAL.fullmatch(value.strip(' \t'))
                    for value in lengths):
                return (400, errors.BAD_REQUEST,
                        'Content-Length must be one decimal number of at '
                        'most 18 digits.')
            if codings and lengths:
                return (400, errors.BAD_REQUEST,
                        'Send Content-Length or Transfer-Encoding, not '
                        'both.')
            if codings:
                named = [coding.strip(' \t').lower()
                         for value in codings for coding in value.split(',')]
                if named != ['chunked']:
                    return (501, errors.NOT_IMPLEMENTED,
                            'The only transfer coding accepted is '
                            '"chunked".')
            return None

        def get_environ(self):
            environ = super().get_environ()
            plain = environ['eventlet.input']
            if plain.chunked_input:
                strict = StrictChunkedInput(
                    plain.rfile, None, plain._sock, wfile=plain.wfile,
                    wfile_line=plain.wfile_line, chunked_input=True)
                environ['wsgi.input'] = environ['eventlet.input'] = strict
            # The body reader ends at the end of the body, a chunked one
            # decoded (so the application may read chunked bodies).
            environ['wsgi.input_terminated'] = True
            # A held request watches its client's connection.
            environ[api_request.CONNECTION_FD_KEY] = self.connection.fileno
            return environ

    return Protocol
