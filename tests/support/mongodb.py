"""The MongoDB server of the tests.

With ``CLOUDPREFS_TEST_MONGODB_URL`` set (for example
``mongodb://127.0.0.1:27017/?directConnection=true``) the tests use that
server, a real mongod; otherwise they start the pinned MongoDB-protocol
test server (secantusdb) themselves. Every test gets a database of its own.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import uuid

from tests.support import network

URL_ENV = 'CLOUDPREFS_TEST_MONGODB_URL'
# The test server wants these; they are harmless on a real single server.
TEST_SERVER_OPTIONS = 'directConnection=true&retryWrites=false'


def with_database(base_url, database):
    """``base_url`` with its database (path) replaced by ``database``."""
    parts = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, '/' + database, parts.query, ''))


def with_host(base_url, host, port):
    """``base_url`` pointed at one ``host:port`` (credentials kept)."""
    parts = urllib.parse.urlsplit(base_url)
    credentials = parts.netloc.rpartition('@')[0]
    netloc = '%s:%d' % (host, port)
    if credentials:
        netloc = credentials + '@' + netloc
    query = parts.query
    if 'directConnection' not in query:
        query = (query + '&' if query else '') + 'directConnection=true'
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, query, ''))


def unique_database():
    return 'cloudprefs_test_' + uuid.uuid4().hex[:12]


def first_host_port(url):
    netloc = urllib.parse.urlsplit(url).netloc.rpartition('@')[2]
    first = netloc.split(',')[0]
    host, _, port = first.rpartition(':')
    if not host:
        return first, 27017
    return host, int(port)


class TestServer:
    """A secantusdb server in a process and directory of its own."""

    def __init__(self, port=None, storage_path=None):
        self.port = port or network.free_port()
        self._own_directory = storage_path is None
        self.storage_path = storage_path or tempfile.mkdtemp(
            prefix='cloudprefs-secantus-')
        self.process = None
        self.log_path = os.path.join(self.storage_path + '.log')

    @property
    def url(self):
        return 'mongodb://127.0.0.1:%d/?%s' % (self.port, TEST_SERVER_OPTIONS)

    def start(self):
        log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'secantus', '--host', '127.0.0.1',
             '--port', str(self.port), '--storage-path', self.storage_path,
             '--standalone', '--log-level', 'WARNING'],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        network.wait_for_port(self.port, timeout=60, process=self.process)
        return self

    def stop(self, kill=False):
        network.stop_process(self.process, timeout=20,
                             signum=signal.SIGKILL if kill else signal.SIGTERM)

    def cleanup(self):
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.storage_path, ignore_errors=True)
