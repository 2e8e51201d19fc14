"""The things the bench measures, each served by gunicorn with the same settings.

``AppTarget`` is one tree of myapp (this worktree, or a baseline commit
extracted with ``git archive``) on its own fresh database: migrated by that
tree's code, served from that tree's ``production.ini`` with that tree's
``myapp`` first on PYTHONPATH. ``BareTarget`` is ``bench.bare`` on the database
of another target. Both run ``gunicorn -w 2`` with ``bench/gunicorn_conf.py``,
so the ini's ``[server:main]`` never decides how a target is served.
"""

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

from .gunicorn_conf import MARKER

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
START_TIMEOUT = 60  # seconds; the machine is shared
JWT_SECRET = secrets.token_urlsafe(48)


class Server:
    """One gunicorn master with its workers, output kept in a temporary file."""

    def __init__(self, name, app_args, cwd, environ, workers=2, worker_class="sync", threads=1):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.argv = [
            str(BIN / "gunicorn"), *app_args,
            "-c", str(ROOT / "bench" / "gunicorn_conf.py"),
            "-w", str(workers), "-k", worker_class, "--threads", str(threads),
            "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
        ]
        self.cwd = cwd
        self.environ = environ
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name}-", suffix=".log")
        self.process = None

    def start(self, health_path, workers):
        self.process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.environ, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._answers(health_path) and self.output().count(MARKER) >= workers:
                return self
            time.sleep(0.2)
        output = self.output()
        self.stop()
        raise RuntimeError(f"{self.name} did not start on {self.base}:\n{output[-3000:]}")

    def _answers(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def imported_from(self):
        """The ``myapp`` module file each worker imported (None for a bare app)."""
        return {
            line.split(MARKER, 1)[1].strip()
            for line in self.output().splitlines()
            if MARKER in line
        }

    def output(self):
        self.log.flush()
        with open(self.log.name) as log:
            return log.read()

    def stop(self):
        stop_process(self.process, timeout=15)
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


class AppTarget:
    """myapp from ``source`` (a folder holding ``myapp/`` and ``production.ini``)."""

    kind = "app"

    def __init__(self, name, source, cleanup=None):
        self.name = name
        self.source = Path(source)
        self.cleanup = cleanup
        self.server = None
        self.database_url = None

    def environ(self, database_url):
        return {
            **os.environ,
            # This tree's ``myapp`` before anything installed (the editable install
            # of the worktree included): PYTHONPATH comes first on sys.path.
            "PYTHONPATH": str(self.source),
            "MYAPP_DATABASE_URL": database_url,
            "MYAPP_JWT_SECRET": JWT_SECRET,
            "MYAPP_CORS_ALLOWED_ORIGINS": "http://localhost:4200",
        }

    def start(self, database_url, **server_options):
        self.database_url = database_url
        environ = self.environ(database_url)
        subprocess.run(
            [str(BIN / "initialize_myapp_db"), "production.ini"],
            cwd=self.source, env=environ, check=True, capture_output=True,
        )
        self.server = Server(
            self.name, ["--paste", "production.ini"], self.source, environ, **server_options
        )
        self.server.start("/api/tags", server_options.get("workers", 2))
        expected = str(self.source / "myapp" / "__init__.py")
        imported = self.server.imported_from()
        if imported != {expected}:
            raise RuntimeError(f"{self.name} imported myapp from {imported}, not {expected}")
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
        if self.cleanup is not None:
            shutil.rmtree(self.cleanup, ignore_errors=True)


class BareTarget:
    """``bench.bare``: the framework-free baselines, on ``of``'s database."""

    kind = "bare"

    def __init__(self, name, of):
        self.name = name
        self.of = of
        self.server = None

    def start(self, database_url, **server_options):
        dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        environ = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_BARE_DSN": dsn}
        self.server = Server(self.name, ["bench.bare:app"], ROOT, environ, **server_options)
        self.server.start("/api/tags", server_options.get("workers", 2))
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
