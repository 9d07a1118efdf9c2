"""Replicated database servers of the tests' own, on free loopback ports:
a MariaDB Galera cluster and a PostgreSQL primary with a synchronous
standby, from Debian's packages (tools/test-setup.sh installs them).
They never touch the machine's shared servers, and stop() (called by the
fixtures also when a test fails) stops every process they started.

As root the servers run as the ``mysql`` and ``postgres`` users over
folders those users own: PostgreSQL refuses to run as root, and Galera's
rsync state transfer run by root drops to ``nobody`` and fails.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import sqlalchemy as sa

from tests.support import network

GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so'
POSTGRESQL_BIN = '/usr/lib/postgresql/%s/bin'


def _as_user(user):
    """The command prefix that runs a server as ``user`` when we are
    root; nothing otherwise (the server runs as us). setpriv executes the
    server in its own process (runuser would stay as its parent, and a
    SIGKILL meant for the server would kill runuser alone)."""
    if os.geteuid() != 0:
        return []
    return ['setpriv', '--reuid=' + user, '--regid=' + user,
            '--init-groups', '--']


def _own(path, user):
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError('%s within %d s' % (what, timeout))
        time.sleep(0.2)


def _stop(process, timeout=20):
    network.stop_process(process, timeout=timeout)


class GaleraNode:
    def __init__(self, cluster, index, root):
        self.cluster = cluster
        self.index = index
        self.dir = os.path.join(root, 'node%d' % index)
        self.datadir = os.path.join(self.dir, 'data')
        self.port = network.free_port()
        self.gcomm_port = network.free_port()
        self.ist_port = network.free_port()
        self.sst_port = network.free_port()
        self.config_path = os.path.join(self.dir, 'my.cnf')
        self.log_path = os.path.join(self.dir, 'error.log')
        self.process = None

    def write_config(self, peers):
        os.makedirs(self.dir, exist_ok=True)
        options = {
            'datadir': self.datadir,
            'socket': os.path.join(self.dir, 'mysqld.sock'),
            'pid-file': os.path.join(self.dir, 'mysqld.pid'),
            'log-error': self.log_path,
            'port': self.port,
            'bind-address': '127.0.0.1',
            'skip-name-resolve': 'ON',
            'innodb_buffer_pool_size': '64M',
            'innodb_log_file_size': '16M',
            'innodb_flush_log_at_trx_commit': '2',
            'binlog_format': 'ROW',
            'default_storage_engine': 'InnoDB',
            'innodb_autoinc_lock_mode': '2',
            'wsrep_on': 'ON',
            'wsrep_provider': GALERA_PROVIDER,
            'wsrep_cluster_name': 'cloudprefs_test',
            'wsrep_cluster_address': 'gcomm://' + ','.join(peers),
            'wsrep_node_name': 'node%d' % self.index,
            'wsrep_node_address': '127.0.0.1:%d' % self.gcomm_port,
            'wsrep_sst_method': 'rsync',
            'wsrep_sst_receive_address': '127.0.0.1:%d' % self.sst_port,
            # A killed node is evicted after a few seconds, not 15.
            'wsrep_provider_options': '"gmcast.listen_addr=tcp://127.0.0.1:'
                                      '%d;ist.recv_addr=127.0.0.1:%d;'
                                      'evs.suspect_timeout=PT3S;'
                                      'evs.inactive_timeout=PT6S;'
                                      'gcache.size=32M"'
                                      % (self.gcomm_port, self.ist_port),
        }
        with open(self.config_path, 'w') as config:
            config.write('[mysqld]\n')
            for name, value in options.items():
                config.write('%s = %s\n' % (name, value))
        for path in (self.dir,):
            _own(path, 'mysql')
        os.chmod(self.config_path, 0o644)

    def install(self):
        subprocess.run(
            _as_user('mysql') + [
                'mariadb-install-db', '--defaults-file=' + self.config_path,
                '--auth-root-authentication-method=normal',
                '--skip-test-db'],
            check=True, capture_output=True, timeout=120,
            env=dict(os.environ, HOME=self.dir))

    def start(self, new_cluster=False):
        command = _as_user('mysql') + [
            '/usr/sbin/mariadbd', '--defaults-file=' + self.config_path]
        if new_cluster:
            command.append('--wsrep-new-cluster')
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL,
                                        env=dict(os.environ, HOME=self.dir))

    def kill(self):
        """SIGKILL, as a crash: no goodbye to the cluster."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        _stop(self.process)

    def status(self, name):
        engine = sa.create_engine(self.admin_url(), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                row = connection.execute(
                    sa.text('SHOW GLOBAL STATUS LIKE :name'),
                    {'name': name}).fetchone()
        finally:
            engine.dispose()
        return None if row is None else row[1]

    def synced(self):
        return (self.status('wsrep_local_state_comment') == 'Synced'
                and int(self.status('wsrep_cluster_size'))
                == len(self.cluster.nodes))

    def admin_url(self, database='mysql'):
        return 'mysql+pymysql://root@127.0.0.1:%d/%s' % (self.port, database)

    def log(self):
        try:
            with open(self.log_path, errors='replace') as log:
                return log.read()[-3000:]
        except OSError:
            return ''


class GaleraCluster:
    """A MariaDB Galera cluster of ``size`` nodes on loopback ports."""

    def __init__(self, size=3):
        self.root = tempfile.mkdtemp(prefix='cloudprefs-galera-')
        _own(self.root, 'mysql')
        os.chmod(self.root, 0o755)
        self.nodes = [GaleraNode(self, index, self.root)
                      for index in range(1, size + 1)]

    def start(self, timeout=90):
        peers = ['127.0.0.1:%d' % node.gcomm_port for node in self.nodes]
        for node in self.nodes:
            node.write_config(peers)
            node.install()
        first = self.nodes[0]
        first.start(new_cluster=True)
        _wait(lambda: first.status('wsrep_ready') == 'ON', timeout,
              'node 1 bootstraps the cluster:\n' + first.log())
        for node in self.nodes[1:]:
            node.start()
        self.wait_synced(timeout)

    def wait_synced(self, timeout=90):
        for node in self.nodes:
            _wait(node.synced, timeout,
                  'node %d joins the cluster:\n%s' % (node.index, node.log()))

    def stop(self):
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class PostgreSQLPair:
    """A PostgreSQL primary and a synchronous streaming standby."""

    def __init__(self):
        versions = sorted(os.listdir('/usr/lib/postgresql'))
        self.bin = POSTGRESQL_BIN % versions[-1]
        self.root = tempfile.mkdtemp(prefix='cloudprefs-pgpair-')
        _own(self.root, 'postgres')
        os.chmod(self.root, 0o755)
        self.primary_dir = os.path.join(self.root, 'primary')
        self.standby_dir = os.path.join(self.root, 'standby')
        self.primary_port = network.free_port()
        self.standby_port = network.free_port()
        self.processes = {}

    def _env(self):
        # Not root's home, which the postgres user cannot read.
        return dict(os.environ, HOME=self.root)

    def _run(self, *command):
        subprocess.run(_as_user('postgres') + [
            os.path.join(self.bin, command[0])] + list(command[1:]),
            check=True, capture_output=True, timeout=120, env=self._env())

    def _start(self, name, datadir, port):
        log = open(os.path.join(self.root, name + '.log'), 'ab')
        self.processes[name] = subprocess.Popen(
            _as_user('postgres') + [
                os.path.join(self.bin, 'postgres'), '-D', datadir,
                '-p', str(port), '-k', self.root,
                '-c', 'listen_addresses=127.0.0.1'],
            stdout=log, stderr=subprocess.STDOUT, env=self._env())
        log.close()
        network.wait_for_port(port, process=self.processes[name])

    def start(self):
        self._run('initdb', '-D', self.primary_dir, '-A', 'trust',
                  '-U', 'postgres')
        with open(os.path.join(self.primary_dir, 'postgresql.conf'),
                  'a') as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 4\n"
                       "shared_buffers = 32MB\nfsync = off\n"
                       "hot_standby = on\n")
        self._start('primary', self.primary_dir, self.primary_port)
        self._run('pg_basebackup', '-h', '127.0.0.1', '-p',
                  str(self.primary_port), '-U', 'postgres', '-D',
                  self.standby_dir, '-R', '-X', 'stream')
        self._start('standby', self.standby_dir, self.standby_port)
        # Synchronous only once the standby streams: before, every
        # commit would wait for it.
        _wait(lambda: self._scalar(
            self.primary_port,
            "SELECT count(*) FROM pg_stat_replication "
            "WHERE state = 'streaming'") == 1, 60, 'the standby streams')
        self._execute(self.primary_port,
                      "ALTER SYSTEM SET synchronous_standby_names = '*'")
        self._execute(self.primary_port, 'SELECT pg_reload_conf()')
        _wait(lambda: self._scalar(
            self.primary_port,
            "SELECT sync_state FROM pg_stat_replication") == 'sync', 30,
            'the standby is synchronous')

    def _engine(self, port, database='postgres'):
        return sa.create_engine(
            'postgresql+psycopg2://postgres@127.0.0.1:%d/%s'
            % (port, database), isolation_level='AUTOCOMMIT',
            poolclass=sa.pool.NullPool)

    def _scalar(self, port, statement):
        engine = self._engine(port)
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text(statement)).scalar()
        finally:
            engine.dispose()

    def _execute(self, port, statement):
        engine = self._engine(port)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(statement))
        finally:
            engine.dispose()

    def create_database(self, name):
        self._execute(self.primary_port, 'CREATE DATABASE %s' % name)

    def multi_host_url(self, database):
        """One libpq URL of both servers; the one that takes writes."""
        return ('postgresql+psycopg2://postgres@/%s?host=127.0.0.1:%d'
                '&host=127.0.0.1:%d&target_session_attrs=read-write'
                % (database, self.primary_port, self.standby_port))

    def kill_primary(self):
        process = self.processes['primary']
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def promote_standby(self):
        self._run('pg_ctl', 'promote', '-w', '-D', self.standby_dir)

    def scalar_on_standby(self, database, statement):
        engine = self._engine(self.standby_port, database)
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text(statement)).scalar()
        finally:
            engine.dispose()

    def stop(self):
        for process in self.processes.values():
            _stop(process, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
