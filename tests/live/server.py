"""The application as production runs it: ``pserve <ini>`` in a process of its own.

``AppServer`` migrates the database (``initialize_myapp_db``), starts the
server on a free port of 127.0.0.1, waits for ``GET /api/health`` and stops
it at the end, keeping its output for the test (``output()``) and for a
failing test's report.

Used by the real-server tests (tests/live) and by scripts/live_checks.py.
"""

import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv running the tests
START_TIMEOUT = 30  # seconds


def stop_process(process, timeout=10):
    """Terminate ``process`` (a Popen, or None), killing it after ``timeout`` s. Idempotent."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def production_environ(database_url, **extra):
    """The environment production.ini needs, for ``database_url``."""
    return {
        "MYAPP_DATABASE_URL": database_url,
        "MYAPP_JWT_SECRET": secrets.token_urlsafe(48),
        "MYAPP_CORS_ALLOWED_ORIGINS": "http://localhost:4200",
        **extra,
    }


class SourceHandler(urllib.request.HTTPHandler):
    """Connect from ``source`` (e.g. 127.0.0.2: all of 127/8 is this host): another client."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(
            lambda host, **kw: http.client.HTTPConnection(
                host, source_address=(self.source, 0), **kw), req)


class AppServer:
    """``pserve ini [name=value ...]`` on 127.0.0.1:<free port>.

    ``config_vars`` become ini variables on the command line (e.g.
    ``database_url`` for development.ini); ``environ`` is added to the
    environment (production.ini reads its settings from there).
    """

    def __init__(self, ini="production.ini", config_vars=None, environ=None, migrate=True):
        self.ini = ini
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config_vars = {**(config_vars or {}), "http_listen": f"127.0.0.1:{self.port}"}
        self.environ = {**os.environ, **(environ or {})}
        # As production is deployed (docs/operations.md): the worker processes of one server
        # share an empty metrics folder, so /metrics sums them all.
        self.metrics_dir = tempfile.TemporaryDirectory(prefix="myapp-metrics-")
        self.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", self.metrics_dir.name)
        self.migrate = migrate
        self.log = tempfile.NamedTemporaryFile("w+", prefix="myapp-server-", suffix=".log")
        self.process = None

    @property
    def args(self):
        return [f"{name}={value}" for name, value in self.config_vars.items()]

    def start(self):
        if self.migrate:
            subprocess.run(
                [BIN / "initialize_myapp_db", self.ini, *self.args],
                cwd=ROOT, env=self.environ, check=True, capture_output=True,
            )
        self.process = subprocess.Popen(
            [BIN / "pserve", self.ini, *self.args],
            cwd=ROOT, env=self.environ, stdout=self.log, stderr=subprocess.STDOUT,
        )
        if not self.wait_until_healthy():
            output = self.output()
            self.stop()
            raise RuntimeError(f"pserve {self.ini} did not answer on {self.base}:\n{output}")
        return self

    def wait_until_healthy(self, timeout=START_TIMEOUT, path="/api/health"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:
                    if response.status == 200:
                        return True
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        return False

    def stop(self):
        stop_process(self.process)

    def output(self):
        """Everything the server printed so far."""
        self.log.flush()
        with open(self.log.name) as log:
            return log.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
        self.log.close()
        self.metrics_dir.cleanup()

    # --- requests ---------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=10, source=None):
        """(status, headers, parsed JSON or None) of one request on a new connection."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        opener = urllib.request.build_opener(SourceHandler(source)) if source else None
        try:
            with (opener.open if opener else urllib.request.urlopen)(
                request, timeout=timeout
            ) as response:
                status, answer_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, answer_headers, raw = exc.code, exc.headers, exc.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return status, answer_headers, parsed


class ProductionServer(AppServer):
    """``make production LISTEN=127.0.0.1:<free port>``: nginx in front of gunicorn.

    ``config_vars`` become ini variables for pserve (PRODUCTION_ARGS);
    ``options`` are scripts/production.py's own (e.g. ``--client-timeout 5``).
    ``signal_production`` sends HUP (reload) or USR2 (upgrade) to it.
    """

    def __init__(self, config_vars=None, environ=None, options=(), migrate=True):
        super().__init__("production.ini", config_vars, environ, migrate)
        self.config_vars.pop("http_listen")
        self.options = list(options)

    def start(self):
        if self.migrate:
            subprocess.run(
                [BIN / "initialize_myapp_db", self.ini, *self.args],
                cwd=ROOT, env=self.environ, check=True, capture_output=True,
            )
        venv = BIN.parent
        self.process = subprocess.Popen(
            # -o: this virtualenv is installed already; never reinstall it during a test.
            ["make", "--no-print-directory", "-o", f"{venv}/.installed", "production",
             f"VENV={venv}", f"LISTEN=127.0.0.1:{self.port}",
             "PRODUCTION_ARGS=" + " ".join([*self.options, *self.args])],
            cwd=ROOT, env=self.environ, stdout=self.log, stderr=subprocess.STDOUT,
        )
        if not self.wait_until_healthy(timeout=2 * START_TIMEOUT):
            output = self.output()
            self.stop()
            raise RuntimeError(f"make production did not answer on {self.base}:\n{output}")
        return self

    def supervisor_pid(self):
        """scripts/production.py's pid: make's child (the recipe execs it)."""
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
            return int(children.read().split()[0])

    def signal_production(self, number):
        os.kill(self.supervisor_pid(), number)

    def stop(self):
        # make passes TERM on to its child, scripts/production.py, which stops it all.
        stop_process(self.process, timeout=60)
