"""A private PostgreSQL cluster: ``initdb`` into a temporary folder, a free port.

Tests that stop, freeze (SIGSTOP), lock or replicate a database use one of
these, never the machine's shared server. Every cluster is torn down at the
end (``stop`` + folder removed), whatever happened.

PostgreSQL refuses to run as root; when the tests run as root the server
processes run as the ``postgres`` system user, in a folder it owns.

Without PostgreSQL's server binaries the tests that need them skip with one
line, unless ``MYAPP_REQUIRE_LIVE=1`` (``.ci/run`` sets it), where that is a
failure.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

START_TIMEOUT = 30  # seconds


def server_bindir():
    """The folder of ``initdb``/``postgres``/``pg_basebackup``, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("pg_config")
    if found:
        try:
            candidates.insert(0, subprocess.check_output([found, "--bindir"], text=True).strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    for folder in candidates:
        if os.path.exists(os.path.join(folder, "initdb")):
            return folder
    return None


def require(condition, reason):
    """Skip with ``reason`` unless the CI demands every live test (MYAPP_REQUIRE_LIVE=1)."""
    if condition:
        return
    if os.environ.get("MYAPP_REQUIRE_LIVE") == "1":
        pytest.fail(f"{reason} (MYAPP_REQUIRE_LIVE=1)")
    pytest.skip(reason)


def file_tail(path, lines=40):
    """The last ``lines`` lines of a server's log, for a failing test's report."""
    try:
        with open(path) as log:
            return "".join(log.readlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_as():
    """(user kwargs for subprocess, uid, gid): the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}, None, None
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid}, account.pw_uid, account.pw_gid


class PostgresCluster:
    """One PostgreSQL server of the test's own.

    ``url`` (SQLAlchemy, user ``postgres``, database ``postgres``) reaches it;
    ``stop()``/``start()`` take it down and up on the same port; ``freeze()``
    stops every one of its processes (SIGSTOP), as a hung host looks, and
    ``thaw()`` lets them go on.
    """

    def __init__(self, name="primary", settings=None, base=None):
        self.bindir = server_bindir()
        require(self.bindir, "PostgreSQL's server binaries (initdb) are not installed")
        self.name = name
        self.user_kwargs, uid, gid = _run_as()
        self.base = base or tempfile.mkdtemp(prefix=f"myapp-pg-{name}-")
        if uid is not None:
            os.chown(self.base, uid, gid)
        self.datadir = os.path.join(self.base, "data")
        self.logfile = os.path.join(self.base, "server.log")
        self.port = free_port()
        self.settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "fsync": "off",  # a throwaway cluster: speed over durability
            "max_connections": "100",
            **(settings or {}),
        }
        self.process = None

    # --- life cycle -------------------------------------------------------------

    def _bin(self, program):
        return os.path.join(self.bindir, program)

    def run(self, *args, **kwargs):
        """Run one of the server's programs as the cluster's owner; check it."""
        return subprocess.run(
            [self._bin(args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            **self.user_kwargs,
            **kwargs,
        )

    def init(self):
        self.run("initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync")
        self.configure(self.settings)
        return self

    def configure(self, settings):
        """Append ``settings`` to postgresql.conf (takes effect at the next start)."""
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def start(self):
        """Start the server (its own process group) and wait until it accepts connections."""
        log = open(self.logfile, "a")
        if self.user_kwargs:
            os.chown(self.logfile, self.user_kwargs["user"], self.user_kwargs["group"])
        self.process = subprocess.Popen(
            [self._bin("postgres"), "-D", self.datadir, "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: freeze() reaches every backend
            **self.user_kwargs,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            ready = subprocess.run(
                [self._bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
            )
            if ready.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start within {START_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self, mode=signal.SIGINT):
        """Stop the server (SIGINT: fast shutdown). Idempotent."""
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.send_signal(mode)
        try:
            self.process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def processes(self):
        """The postmaster's pid and its children's (backends, checkpointer...).

        Each PostgreSQL child calls setsid(): they are not in the postmaster's
        process group, so signalling the group would reach the postmaster only.
        """
        pid = self.process.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                return [pid, *(int(child) for child in children.read().split())]
        except OSError:
            return [pid]

    def _signal_all(self, signum):
        for pid in self.processes():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass  # a backend that just exited

    def freeze(self):
        """SIGSTOP every process of the server: it accepts TCP but never answers."""
        os.kill(self.process.pid, signal.SIGSTOP)  # first: no new children meanwhile
        self._signal_all(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if getattr(self, "frozen", False):
            self._signal_all(signal.SIGCONT)
            self.frozen = False

    def destroy(self):
        """Stop the server and remove its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        try:
            return self.init().start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc_info):
        self.destroy()

    # --- reaching it ----------------------------------------------------------------

    def url(self, database="postgres", driver="postgresql+psycopg"):
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres"):
        """Run ``sql`` with psql; its output (tuples only, unaligned)."""
        return self.run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ).stdout.strip()

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, lines=40):
        return file_tail(self.logfile, lines)


# --- streaming replication ----------------------------------------------------------

#: Settings of a primary that standbys replicate from (wal_level=replica is
#: PostgreSQL's default; kept here so that the intent is written down).
REPLICATION_SETTINGS = {"wal_level": "replica", "max_wal_senders": "5", "wal_keep_size": "'64MB'"}


def standby_of(primary, name="standby", settings=None):
    """A started streaming standby of the running ``primary`` (``pg_basebackup -R``).

    Its own temporary folder and free port, ``settings`` added to its
    postgresql.conf; ``destroy()`` it at the end. The
    primary's trust rules (initdb ``--auth=trust``) already admit replication
    connections from 127.0.0.1.
    """
    standby = PostgresCluster(name, settings={"hot_standby": "on", **(settings or {})})
    try:
        standby.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", standby.datadir, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )
        # The copied postgresql.conf carries the primary's folder and port: the
        # lines appended here win.
        standby.configure(standby.settings)
        return standby.start()
    except BaseException:
        standby.destroy()
        raise


def replayed_up_to_primary(primary, standby, timeout=START_TIMEOUT):
    """Wait until ``standby`` has replayed everything ``primary`` has written so far."""
    target = primary.psql("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        caught_up = standby.psql(
            f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        )
        if caught_up == "t":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{standby.name} did not replay up to {target} within {timeout} s")
