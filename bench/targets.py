"""The things the bench measures, each started the way it is deployed.

``AppTarget`` is one tree of myapp (this worktree, or a baseline commit
extracted with ``git archive``) on a fresh database migrated by that tree's
code, started by that tree's own production command, with that tree's
``myapp`` first on PYTHONPATH:

- topology ``pserve``: ``pserve production.ini`` (gunicorn gthread, the ini's
  threads, admission control, access log and metrics), as the README deploys it;
- topology ``nginx``: ``scripts/production.py`` (what ``make production`` runs:
  nginx in front of that same pserve), when the tree has it.

Worker and thread counts are the ini's own (one worker per core) unless the
bench is told otherwise (``WEB_CONCURRENCY`` and the ini's ``threads``
variable, both production's own knobs). ``WsgiTarget`` is a bench app
(``bench.bare``, ``bench.floor``) on another target's database, served by
gunicorn gthread with the same worker and thread counts.
"""

import configparser
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.live.cluster import free_port
from tests.live.server import stop_process

from .gunicorn_conf import MARKER as WORKER_MARKER
from .probe.sitecustomize import MARKER as IMPORT_MARKER

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROBE = ROOT / "bench" / "probe"
START_TIMEOUT = 90  # seconds; the machine is shared
JWT_SECRET = secrets.token_urlsafe(48)


def production_counts(source, workers=None, threads=None):
    """(workers, threads) ``pserve production.ini`` of ``source`` runs with."""
    if workers is None:
        from myapp.server import default_workers  # this tree's: the bench runs from it

        workers = default_workers()
    if threads is None:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(Path(source) / "production.ini")
        threads = int(parser.defaults().get("threads", 1))
    return workers, threads


class Server:
    """One server command and its processes, output kept in a temporary file."""

    def __init__(self, name, argv, cwd, environ, port):
        self.name = name
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.argv = [str(arg) for arg in argv]
        self.cwd = cwd
        self.environ = environ
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name.replace(' ', '-')}-", suffix=".log")
        self.process = None

    def start(self, ready):
        """Start, then wait until ``ready(self)`` is true (it may raise)."""
        self.process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.environ, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.answers("/api/tags") and ready(self):
                return self
            time.sleep(0.2)
        output = self.output()
        self.stop()
        raise RuntimeError(f"{self.name} did not start on {self.base}:\n{output[-3000:]}")

    def answers(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def lines_after(self, marker):
        return [line.split(marker, 1)[1].strip() for line in self.output().splitlines() if marker in line]

    def output(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as log:
            return log.read()

    def stop(self):
        # SIGTERM to the server command: pserve's gunicorn and production.py
        # both stop their children gracefully on it.
        stop_process(self.process, timeout=30)
        self.log.close()


def extract_commit(commit):
    """``git archive`` of ``commit`` into a new temporary folder; its path."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{commit[:7]}-"))
    archive = folder / "tree.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    archive.unlink()
    return folder


def topologies(source):
    """The production commands ``source`` has: always pserve, nginx with ``make production``."""
    found = ["pserve"]
    if (Path(source) / "scripts" / "production.py").exists():
        found.append("nginx")
    return found


class AppTarget:
    """myapp from ``source`` (a folder holding ``myapp/`` and ``production.ini``)."""

    kind = "app"

    def __init__(self, name, source, topology="pserve", cleanup=None, threads=None, ini_vars=None):
        self.name = name
        self.source = Path(source)
        self.topology = topology
        self.threads = threads  # None: the ini's
        self.ini_vars = dict(ini_vars or {})  # production.ini's variables, as on pserve's command line
        self.cleanup = cleanup
        self.server = None
        self.database_url = None
        self.metrics_dir = None

    def environ(self, database_url, workers):
        environ = {
            **os.environ,
            # This tree's ``myapp`` before anything installed (the editable install
            # of the worktree included): PYTHONPATH comes first on sys.path.
            "PYTHONPATH": f"{self.source}{os.pathsep}{PROBE}",
            "MYAPP_DATABASE_URL": database_url,
            "MYAPP_JWT_SECRET": JWT_SECRET,
            "MYAPP_CORS_ALLOWED_ORIGINS": "http://localhost:4200",
            # As production is deployed: the workers share one metrics folder.
            "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir,
        }
        if workers is not None:
            environ["WEB_CONCURRENCY"] = str(workers)
        return environ

    def migrate(self, database_url):
        self.metrics_dir = tempfile.mkdtemp(prefix="bench-metrics-")
        subprocess.run(
            [str(BIN / "initialize_myapp_db"), "production.ini"],
            cwd=self.source, env=self.environ(database_url, None), check=True, capture_output=True,
        )

    def start(self, database_url, workers=None, threads=None):
        """Serve ``database_url`` (already migrated by this tree, or ``migrate`` it first)."""
        if self.metrics_dir is None:
            self.migrate(database_url)
        self.database_url = database_url
        port = free_port()
        ini_vars = [f"{name}={value}" for name, value in self.ini_vars.items()]
        if threads is not None:
            ini_vars.append(f"threads={threads}")
        if self.topology == "pserve":
            argv = [BIN / "pserve", "production.ini", f"http_listen=127.0.0.1:{port}", *ini_vars]
        else:
            argv = [BIN / "python", "scripts/production.py", "--listen", f"127.0.0.1:{port}", *ini_vars]
        self.server = Server(self.name, argv, self.source, self.environ(database_url, workers), port)
        self.server.start(lambda server: True)
        expected = str(self.source / "myapp" / "__init__.py")
        imported = set(self.server.lines_after(IMPORT_MARKER))
        if imported != {expected}:
            self.stop()
            raise RuntimeError(f"{self.name} imported myapp from {imported}, not {expected}")
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
        if self.metrics_dir is not None:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        if self.cleanup is not None:
            shutil.rmtree(self.cleanup, ignore_errors=True)


class WsgiTarget:
    """A bench WSGI app (``module:app``) on ``of``'s database, gunicorn gthread."""

    kind = "baseline"

    def __init__(self, name, app, of):
        self.name = name
        self.app = app
        self.of = of
        self.server = None

    def start(self, database_url, workers, threads):
        dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        environ = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DSN": dsn}
        port = free_port()
        argv = [
            BIN / "gunicorn", self.app, "-c", ROOT / "bench" / "gunicorn_conf.py",
            "-w", workers, "-k", "gthread", "--threads", threads,
            "-b", f"127.0.0.1:{port}", "--log-level", "warning",
        ]
        self.server = Server(self.name, argv, ROOT, environ, port)
        self.server.start(lambda server: len(server.lines_after(WORKER_MARKER)) >= workers)
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
