"""The application as production runs it: ``pserve <ini>`` in a process of its own.

``AppServer`` migrates the database (``initialize_myapp_db``), starts the
server on a free port of 127.0.0.1, waits for ``GET /api/health`` and stops
it at the end, keeping its output for the test (``output()``) and for a
failing test's report.

Used by the real-server tests (tests/live) and by scripts/live_checks.py.
"""

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

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers, parsed JSON or None) of one request on a new connection."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, answer_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, answer_headers, raw = exc.code, exc.headers, exc.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return status, answer_headers, parsed
