"""Serving the WSGI application with eventlet.wsgi.

One process (``api_workers = 1``), or a master process that opens the
listening socket once and forks ``api_workers`` workers that all accept
on it. The master replaces a worker that dies, passes SIGTERM/SIGINT on
and waits for the workers to drain, and on SIGHUP reloads the
configuration files and replaces the workers one by one (the socket stays
open, so no connection is refused meanwhile; bind_host and bind_port
cannot change without a restart).

A worker that gets SIGTERM stops accepting, lets requests in flight finish
(eventlet.wsgi closes idle keep-alive connections), and exits; past
``graceful_shutdown_timeout`` it exits anyway.

This module expects eventlet's monkey patching (:mod:`.patching`).
"""

import logging
import os
import signal

import time

import eventlet
import eventlet.hubs
import eventlet.patcher
import eventlet.wsgi
import greenlet

from cloudprefs.api import collection
from cloudprefs.api import waiting
from cloudprefs.eventlet_server import protocol
from cloudprefs import storage

LOG = logging.getLogger(__name__)

RESPAWN_DELAY = 1.0     # seconds between restarts of a crashing worker
EVICTION_MARGIN = 64


class _AccessLog:
    """eventlet.wsgi's access log, written to our logger at INFO."""

    def write(self, message):
        LOG.info(message.rstrip())


def apply_defaults(conf):
    """The defaults that depend on this server: a worker holds at most
    three quarters of its connections in long-polls and watches."""
    conf.set_default('max_waiting_per_worker',
                     waiting.holds_for(conf.green_pool_size),
                     group='changes')


def listen(conf):
    sock = eventlet.listen((conf.bind_host, conf.bind_port),
                           backlog=conf.backlog)
    host, port = sock.getsockname()[:2]
    LOG.info('cloudprefs-api listening on %s:%d (auth_strategy=%s, '
             'workers=%d)', host, port, conf.auth_strategy,
             conf.api_workers)
    return sock


def serve(conf, sock, app):
    """Serve on ``sock`` until SIGTERM/SIGINT, then drain and return."""
    stop_requested = []

    def request_stop(signum, _frame):
        stop_requested.append(signum)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)   # the master's business

    collection.settle_after_start_up()
    # Held requests see their clients hang up with poll(), which the
    # monkey patching took out of the select module (a poll with no
    # timeout never blocks the hub).
    waiting.use_poll(eventlet.patcher.original('select').poll)
    limit = protocol.ConnectionLimit(conf.green_pool_size)
    server = eventlet.spawn(
        eventlet.wsgi.server, protocol.LimitedListener(sock, limit), app,
        protocol=protocol.make_protocol(limit, conf.client_header_timeout,
                                        conf.client_socket_timeout),
        # Room for connections closed to make room, until they are gone.
        custom_pool=eventlet.GreenPool(conf.green_pool_size
                                       + EVICTION_MARGIN),
        log=_AccessLog(), log_output=conf.debug,
        socket_timeout=conf.client_socket_timeout or None, keepalive=True)
    eventlet.spawn(limit.sweep_forever)

    def stop_when_asked():
        # Signal handlers only set a flag: killing a greenthread from
        # inside one could interrupt the hub at any point.
        while not stop_requested:
            eventlet.sleep(0.1)
        LOG.info('Stopping: finishing requests in flight (at most %d s)',
                 conf.graceful_shutdown_timeout)
        # Long-polls and watches are answered now, with what they have.
        waiting.release_all()
        if conf.graceful_shutdown_timeout:
            eventlet.spawn_after(conf.graceful_shutdown_timeout,
                                 _exit_now, 'graceful shutdown timed out')
        # The server's own cleanup closes idle connections and waits for
        # the busy ones.
        server.kill()

    eventlet.spawn(stop_when_asked)
    try:
        server.wait()
    except greenlet.GreenletExit:
        pass
    LOG.info('Stopped.')


def _all_log_handlers():
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)]
    return {handler for logger in loggers for handler in logger.handlers}


def own_logging_locks():
    """Give a forked worker logging handler locks of its own.

    Under eventlet, oslo.log makes every handler lock a mutex built on a
    pipe; a worker inherits the master's pipe, so without this the master
    and all workers share one lock, and a worker killed while holding it
    (SIGKILL, the OOM killer) takes the token with it: every process then
    blocks at its next log line, answering nothing and starting no new
    worker. Python's own at-fork reinitialization does not cover these
    locks.
    """
    for handler in _all_log_handlers():
        inherited = handler.lock
        handler.createLock()
        close = getattr(inherited, 'close', None)
        if close is not None and inherited is not handler.lock:
            close()     # this process's copies of the inherited pipe


def _exit_now(reason):
    LOG.warning('Exiting: %s', reason)
    os._exit(1)


class Master:
    """Forks workers on one listening socket and keeps them running."""

    def __init__(self, conf, sock, load_app, reload_conf):
        self.conf = conf
        self.sock = sock
        self.load_app = load_app
        self.reload_conf = reload_conf
        self.workers = set()
        self.signals = []

    def run(self):
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda s, _f: self.signals.append(s))
        # The master keeps no database connection of its own: the workers
        # open theirs after the fork.
        storage.close_drivers()
        for _ in range(self.conf.api_workers):
            self._spawn()
        while True:
            while self.signals:
                signum = self.signals.pop(0)
                if signum == signal.SIGHUP:
                    self._reload()
                else:
                    return self._stop()
            self._reap(respawn=True)
            time.sleep(0.1)

    def _spawn(self):
        pid = os.fork()
        if pid == 0:
            # Until serve() installs the worker's own handlers, the
            # master's would only note a signal in this copy of the
            # master: a SIGTERM sent while the worker loads its
            # application would be lost, and the worker outlive the
            # master. A worker that is not serving yet just ends.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            self._run_worker()
        self.workers.add(pid)
        LOG.info('Started worker %d', pid)
        return pid

    def _run_worker(self):
        # A new hub: the master's epoll descriptor must not be shared.
        eventlet.hubs.use_hub()
        own_logging_locks()
        status = 0
        try:
            serve(self.conf, self.sock, self.load_app())
        except BaseException:
            LOG.exception('Worker %d failed', os.getpid())
            status = 1
        finally:
            logging.shutdown()
            os._exit(status)

    def _reap(self, respawn):
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.workers.clear()
                return
            if pid == 0:
                return
            if pid not in self.workers:
                continue
            self.workers.discard(pid)
            if respawn:
                LOG.warning('Worker %d exited (status %d); starting '
                            'another', pid, status)
                time.sleep(RESPAWN_DELAY if status else 0)
                self._spawn()

    def _reload(self):
        LOG.info('SIGHUP: reloading the configuration files and replacing '
                 'the workers')
        try:
            self.reload_conf()
        except Exception:
            LOG.exception('The new configuration cannot be used; the '
                          'workers keep the old one')
            return
        for old in list(self.workers):
            self._spawn()
            self._stop_worker(old)

    def _stop_worker(self, pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + self.conf.graceful_shutdown_timeout + 5
        while time.monotonic() < deadline:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.05)
        self.workers.discard(pid)

    def _stop(self):
        LOG.info('Stopping %d workers', len(self.workers))
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.conf.graceful_shutdown_timeout + 5
        while self.workers and time.monotonic() < deadline:
            self._reap(respawn=False)
            time.sleep(0.05)
        for pid in self.workers:
            os.kill(pid, signal.SIGKILL)
        self.sock.close()
        LOG.info('All workers stopped.')
        return 0


def run(conf, load_app, reload_conf):
    """Serve until stopped: in this process, or with a master."""
    sock = listen(conf)
    if conf.api_workers == 1:
        serve(conf, sock, load_app())
        return 0
    return Master(conf, sock, load_app, reload_conf).run()
