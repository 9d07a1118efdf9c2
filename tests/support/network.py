"""Ports, waiting for servers, and a TCP proxy that can cut connections."""

import os
import signal
import socket
import subprocess
import threading
import time


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=30.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError('process exited with %s before listening on '
                               'port %d' % (process.returncode, port))
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError('nothing listening on port %d after %.0f s'
                       % (port, timeout))


def read_until_closed(sock, timeout_ends=False):
    """Every byte the peer sends until it closes or resets the connection
    (with ``timeout_ends``, until a read times out too)."""
    data = b''
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        except socket.timeout:
            if timeout_ends:
                break
            raise
        if not chunk:
            break
        data += chunk
    return data


def raw_exchange(port, data, timeout_ends=False):
    """Send ``data`` exactly as given on a new loopback connection; every
    byte answered until the server closes it."""
    with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
        sock.sendall(data)
        return read_until_closed(sock, timeout_ends)


class TCPProxy:
    """Forwards 127.0.0.1:<port> to a backend; ``cut()`` simulates an outage.

    While cut, open connections are closed and new ones are refused (the
    listening socket is closed), as when a database server goes away;
    ``restore()`` listens again on the same port.
    """

    def __init__(self, backend_host, backend_port):
        self.backend = (backend_host, backend_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._connections = []
        self._listener = None
        self._stopped = False
        self._trap = None
        self.sprung = threading.Event()
        self.restore()

    def cut_at(self, pattern, after_reply=False):
        """Cut the next connection whose client sends bytes containing
        ``pattern`` (a statement, a command name): before the server sees
        them, or, with ``after_reply``, once the server has done the work
        and before its reply reaches the client (a lost acknowledgement).
        Only the one connection is cut; ``sprung`` is set when it is."""
        self.sprung.clear()
        self._trap = (pattern, after_reply)

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,),
                         daemon=True).start()

    def cut(self):
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self):
        self._stopped = True
        self.cut()

    def _accept(self, listener):
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.backend, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections.extend([client, upstream])
            state = {'cut_reply': False}
            threading.Thread(target=self._pump,
                             args=(client, upstream, state, True),
                             daemon=True).start()
            threading.Thread(target=self._pump,
                             args=(upstream, client, state, False),
                             daemon=True).start()

    def _pump(self, source, target, state, from_client):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                trap = self._trap
                if from_client and trap is not None and trap[0] in data:
                    self._trap = None
                    if trap[1]:
                        state['cut_reply'] = True
                    else:
                        self.sprung.set()
                        break           # the server never sees it
                elif not from_client and state['cut_reply']:
                    self.sprung.set()
                    break               # the client never sees it
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def stop_process(process, timeout, signum=signal.SIGTERM, group=False):
    """Send ``signum`` to a running process; kill it after ``timeout``.

    ``group``: the process leads a process group of its own (started with
    ``start_new_session``): whatever of the group outlives it (a worker
    whose master was killed) is killed too, so no test leaves a server
    running, also when it fails or times out.
    """
    if process is None:
        return
    try:
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        if group:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
