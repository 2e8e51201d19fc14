"""A PgBouncer of the test's own, in transaction pooling mode, in front of a cluster.

Debian's ``pgbouncer`` (``scripts/install-pgbouncer.sh``); without it the
tests that need one skip with one line (a failure under MYAPP_REQUIRE_LIVE=1).
Like the clusters it refuses to run as root, so it runs as ``postgres`` then.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .cluster import START_TIMEOUT, _run_as, file_tail, free_port, require

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
MISSING = "PgBouncer is not installed (scripts/install-pgbouncer.sh)"


def installed():
    return os.access(BINARY, os.X_OK)


class PgBouncer:
    """``pgbouncer`` on 127.0.0.1:<free port>, every database forwarded to the server
    at ``host``:``port`` (user ``postgres``, trust: the test clusters and the CI server).

    ``pool_size`` server connections per database and user, shared by up to
    ``max_client_conn`` clients: transaction pooling hands each transaction
    whichever server connection is free.
    """

    def __init__(self, port, host="127.0.0.1", pool_size=4, max_client_conn=200):
        require(installed(), MISSING)
        self.user_kwargs, uid, gid = _run_as()
        self.base = tempfile.mkdtemp(prefix="myapp-pgbouncer-")
        if uid is not None:
            os.chown(self.base, uid, gid)
        self.port = free_port()
        self.logfile = os.path.join(self.base, "pgbouncer.log")
        self.config = os.path.join(self.base, "pgbouncer.ini")
        with open(os.path.join(self.base, "users.txt"), "w") as users:
            users.write('"postgres" ""\n')
        with open(self.config, "w") as config:
            config.write(
                f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.base}/users.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = {max_client_conn}
logfile = {self.logfile}
"""
            )
        self.process = None

    def url(self, database="postgres", driver="postgresql+psycopg"):
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        self.process = subprocess.Popen(
            [BINARY, self.config], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True, **self.user_kwargs,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not listen within {START_TIMEOUT} s")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines=40):
        return file_tail(self.logfile, lines)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc_info):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
