"""Checks against a live ``pserve``, on two fresh databases.

    live_checks.py [conformance] [fuzz]     (both when none is named)

- conformance: the RealWorld spec's own suite, ``../shared/realworld/run.sh``.
- fuzz: schemathesis generates requests from ``/api/openapi.json`` (signed in
  and anonymous) and fails on any 5xx, any response that does not match the
  document, and a server that stops answering. Settings: schemathesis.toml;
  ``FUZZ_MAX_EXAMPLES`` (default 50 per operation) and ``FUZZ_SEED``.

For each database: create it empty, migrate it with ``initialize_myapp_db``,
start ``pserve`` on a free port of 127.0.0.1, wait for ``GET /api/health``,
run the checks against it, then stop the server and drop the database,
whatever happened.

- SQLite: a new file in a temporary folder, served with development.ini.
- PostgreSQL: a new database on the server of ``MYAPP_TEST_DATABASE_URL``,
  served with production.ini (its settings come from the environment).
  Skipped, as by ``make test``, when the variable is unset.
- PostgreSQL through PgBouncer (conformance only): the same, with a PgBouncer
  of its own in transaction pooling mode between pserve and the server
  (``scripts/install-pgbouncer.sh``; skipped without it unless
  ``MYAPP_REQUIRE_LIVE=1``).

Exits 1 when a check failed on either database. Run it with the project's
virtualenv: ``make conformance``, ``make fuzz`` (``.ci/run`` runs both, after
``make test``).
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import json
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.live.pgbouncer
BIN = Path(sys.executable).parent  # the virtualenv running this script
SUITE = Path(os.environ.get("REALWORLD_SUITE", ROOT.parent / "shared" / "realworld"))
START_TIMEOUT = 30
FUZZ_MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "50")
FUZZ_SEED = os.environ.get("FUZZ_SEED", "20261121")


@contextmanager
def sqlite_database():
    """development.ini on a new SQLite file."""
    with tempfile.TemporaryDirectory(prefix="myapp-conformance-") as folder:
        yield "development.ini", {"database_url": f"sqlite:///{folder}/conduit.sqlite"}, {}


@contextmanager
def postgresql_database(server_url):
    """production.ini on a new database of the server at ``server_url``, dropped afterwards."""
    name = f"myapp_conformance_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name)
    environ = {
        "MYAPP_DATABASE_URL": url.render_as_string(hide_password=False),
        "MYAPP_JWT_SECRET": secrets.token_urlsafe(48),
        "MYAPP_CORS_ALLOWED_ORIGINS": "http://localhost:4200",
    }
    try:
        yield "production.ini", {}, environ
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def pgbouncer_database(server_url):
    """production.ini on a new database, through a PgBouncer of its own in transaction mode."""
    from tests.live.pgbouncer import PgBouncer

    server = make_url(server_url)
    with postgresql_database(server_url) as (ini, config_vars, environ), PgBouncer(
        server.port or 5432, host=server.host or "127.0.0.1"
    ) as bouncer:
        database = make_url(environ["MYAPP_DATABASE_URL"]).database
        yield ini, config_vars, {
            **environ,
            "MYAPP_DATABASE_URL": bouncer.url(database),
            "MYAPP_DB_BEHIND_PGBOUNCER": "true",
        }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(base, server):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def conformance(base):
    return subprocess.run(["bash", SUITE / "run.sh", base]).returncode == 0


def sign_up(base, name):
    """Register a user of the fuzzer's own; its token."""
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "fuzz-password"}}
    request = urllib.request.Request(
        f"{base}/api/users", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["user"]["token"]


def fuzz(base):
    token = sign_up(base, f"fuzzer{uuid.uuid4().hex[:8]}")
    command = [
        BIN / "schemathesis", "run", f"{base}/api/openapi.json", "--checks", "all",
        "--max-examples", FUZZ_MAX_EXAMPLES, "--seed", FUZZ_SEED, "--workers", "2",
        # Hypothesis gives up on an operation when it discards too many of its own
        # candidates (path values it cannot put in a URL): a generator limit, not a
        # finding about the API.
        "--suppress-health-check", "filter_too_much",
    ]
    passed = True
    for who, extra in [("signed in", ["-H", f"Authorization: Token {token}"]), ("anonymous", [])]:
        print(f"--- schemathesis, {who}")
        passed &= subprocess.run([*command, *extra], cwd=ROOT).returncode == 0
    return passed


CHECKS = {"conformance": conformance, "fuzz": fuzz}


def run_checks(label, database, checks):
    """Migrate, serve and check one fresh database; True when every check passed."""
    print(f"=== {', '.join(checks)} on {label}")
    with database as (ini, config_vars, environ), tempfile.TemporaryFile("w+") as log:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, **environ}
        config_vars = {**config_vars, "http_listen": f"127.0.0.1:{port}"}
        args = [f"{name}={value}" for name, value in config_vars.items()]
        subprocess.run([BIN / "initialize_myapp_db", ini, *args], cwd=ROOT, env=env, check=True)
        server = subprocess.Popen(
            [BIN / "pserve", ini, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            passed = wait_for_health(base, server)
            if not passed:
                print(f"pserve {ini} did not answer {base}/api/health within {START_TIMEOUT} s")
            for check in checks if passed else ():
                passed &= CHECKS[check](base)
            if passed and not wait_for_health(base, server):
                print("pserve stopped answering during the checks")
                passed = False
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if not passed:
            log.seek(0)
            print(f"--- pserve {ini} output\n{log.read()}--- end of pserve output")
    return passed


def pgbouncer_run(server_url):
    """The PgBouncer run, or None (skipped) without PgBouncer unless MYAPP_REQUIRE_LIVE=1."""
    from tests.live.pgbouncer import MISSING, installed

    if installed() or os.environ.get("MYAPP_REQUIRE_LIVE") == "1":
        return ("PostgreSQL through PgBouncer", pgbouncer_database(server_url), ["conformance"])
    print(f"PostgreSQL through PgBouncer skipped: {MISSING}")
    return None


def main(argv=sys.argv):
    checks = argv[1:] or list(CHECKS)
    unknown = set(checks) - set(CHECKS)
    if unknown:
        sys.exit(f"unknown checks {sorted(unknown)}; choose from {sorted(CHECKS)}")
    sys.stdout.reconfigure(line_buffering=True)  # in order with the subprocesses' output
    # Turn a CI runner's SIGTERM into an exception, so servers and databases are cleaned up.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    runs = [("SQLite", sqlite_database(), checks)]
    server_url = os.environ.get("MYAPP_TEST_DATABASE_URL")
    if server_url:
        runs.append(("PostgreSQL", postgresql_database(server_url), checks))
        # Transaction pooling: the conformance suite only (the fuzzer adds nothing there).
        if "conformance" in checks:
            runs.append(pgbouncer_run(server_url))
    else:
        print("PostgreSQL skipped: MYAPP_TEST_DATABASE_URL is unset")
    results = {}
    for label, database, run_checks_here in filter(None, runs):
        started = time.monotonic()
        try:
            passed = run_checks(label, database, run_checks_here)
        except Exception:  # a failed migration or an unreachable server: report, go on
            traceback.print_exc()
            passed = False
        results[label] = f"{'passed' if passed else 'FAILED'} ({time.monotonic() - started:.0f} s)"
    print(f"{' and '.join(checks)}: " + ", ".join(f"{label} {result}" for label, result in results.items()))
    return 0 if all(result.startswith("passed") for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
