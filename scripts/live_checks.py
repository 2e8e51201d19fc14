"""Checks against a live ``pserve``, on two fresh databases.

    live_checks.py [conformance] [fuzz]     (both when none is named)

- conformance: the RealWorld spec's own suite, ``../shared/realworld/run.sh``
  (or ``REALWORLD_SUITE``); counted in requests (a request passes when all of
  its assertions do).
- fuzz: ``schemathesis run`` with schemathesis.toml (the checks, the seed, one
  worker: every setting is there), once signed in as a user of its own and once
  anonymous; counted in generated test cases. ``FUZZ_MAX_EXAMPLES`` and
  ``FUZZ_SEED`` override those two settings. Each run works in a temporary
  folder of its own, so hypothesis' and schemathesis' state (``.hypothesis``,
  ``.schemathesis``) never carries over from one run to the next.

For each database: create it empty, then ``tests/live/server.py``'s
``AppServer`` migrates it, starts ``pserve`` on a free port of 127.0.0.1 and
waits for ``GET /api/health``; run the checks against it, check it still
answers, then stop the server and drop the database, whatever happened.

- SQLite: a new file in a temporary folder, served with development.ini.
- PostgreSQL: a new database on the server of ``MYAPP_TEST_DATABASE_URL``,
  served with production.ini (its settings come from the environment).
  Skipped, as by ``make test``, when the variable is unset.
- PostgreSQL through PgBouncer (conformance only): the same, with a PgBouncer
  of its own in transaction pooling mode between pserve and the server
  (``scripts/install-pgbouncer.sh``; skipped without it unless
  ``MYAPP_REQUIRE_LIVE=1``).

Every check prints one line of counts, ``<check> on <database>: N passed, M
failed``; with ``MYAPP_COUNTS_DIR`` set, it also writes them there as JSON for
``scripts/ci_summary.py`` (``.ci/run``'s closing line). Exits 1 when a check
failed on either database. Run it with the project's virtualenv:
``make conformance``, ``make fuzz``.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the real-server harness of the tests, reused here

from tests.live.server import BIN, AppServer, production_environ  # noqa: E402

SUITE = Path(os.environ.get("REALWORLD_SUITE", ROOT.parent / "shared" / "realworld"))
SCHEMATHESIS_CONFIG = ROOT / "schemathesis.toml"
#: A fresh Idempotency-Key per request (the reason is in the file).
SCHEMATHESIS_HOOKS = ROOT / "scripts" / "fuzz_hooks.py"
#: Bruno's per-folder summary row, e.g. "│ Requests │ 10 (8 Passed, 2 Failed) │".
BRUNO_REQUESTS = re.compile(r"Requests\s*│\s*(\d+)(?:\s*\(([^)]*)\))?")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@contextmanager
def sqlite_database():
    """development.ini on a new SQLite file."""
    with tempfile.TemporaryDirectory(prefix="myapp-live-checks-") as folder:
        yield "development.ini", {"database_url": f"sqlite:///{folder}/conduit.sqlite"}, {}


@contextmanager
def postgresql_database(server_url):
    """production.ini on a new database of the server at ``server_url``, dropped afterwards."""
    name = f"myapp_live_checks_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield "production.ini", {}, production_environ(url)
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


class Counts:
    """Passed and failed counts of every check run, printed and kept for CI."""

    def __init__(self):
        self.folder = os.environ.get("MYAPP_COUNTS_DIR")

    def record(self, what, passed, failed):
        print(f"{what}: {passed} passed, {failed} failed")
        if self.folder:
            name = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
            with open(os.path.join(self.folder, f"{name}.json"), "w") as file:
                json.dump({"what": what, "passed": passed, "failed": failed}, file)


COUNTS = Counts()


def bruno_counts(line):
    """(passed, failed) of one of Bruno's summary rows, or None for any other line."""
    found = BRUNO_REQUESTS.search(ANSI_ESCAPE.sub("", line))
    if not found:
        return None
    breakdown = dict(
        (kind, int(number))
        for number, kind in re.findall(r"(\d+) (Passed|Failed)", found.group(2) or "")
    )
    passed = breakdown.get("Passed", 0)
    # Requests neither passed nor failed (skipped, or never reached after a bail)
    # did not pass: they count as failed.
    return passed, int(found.group(1)) - passed


def conformance(base, label):
    """Run the suite, echoing its output; counted in requests."""
    passed = failed = 0
    process = subprocess.Popen(
        ["bash", SUITE / "run.sh", base], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    for line in process.stdout:
        print(line, end="")
        counts = bruno_counts(line)
        if counts:
            passed, failed = passed + counts[0], failed + counts[1]
    ok = process.wait() == 0
    if not ok and failed == 0:
        failed = 1  # the suite failed before or outside any request it counted
    if ok and passed == 0:
        print("conformance: the suite passed but no request was counted (its output changed?)")
        ok, failed = False, 1
    COUNTS.record(f"conformance on {label}", passed, failed)
    return ok


def sign_up(base, name):
    """Register a user of the fuzzer's own; its token."""
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "fuzz-password"}}
    request = urllib.request.Request(
        f"{base}/api/users", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["user"]["token"]


def fuzz_counts(report):
    """(passed, failed) in test cases, from schemathesis' JSON report (None if missing)."""
    try:
        document = json.loads(Path(report).read_text())
    except (OSError, ValueError):
        return None
    cases = document["test_cases"]
    failed = cases["with_failures"] + cases["errored"]
    # Cases no check looked at did not pass; errors outside any case (a crashed
    # phase) still fail the run.
    passed = cases["generated"] - failed - cases["without_checks"]
    if document["exit_code"] != 0 and failed == 0:
        failed = max(1, sum(error["count"] for error in document["errors"]))
    return passed, failed


def fuzz(base, label):
    token = sign_up(base, f"fuzzer{uuid.uuid4().hex[:8]}")
    overrides = []
    if os.environ.get("FUZZ_SEED"):
        overrides += ["--seed", os.environ["FUZZ_SEED"]]
    if os.environ.get("FUZZ_MAX_EXAMPLES"):
        overrides += ["--max-examples", os.environ["FUZZ_MAX_EXAMPLES"]]
    ok = True
    for who, extra in [("signed in", ["-H", f"Authorization: Token {token}"]), ("anonymous", [])]:
        print(f"--- schemathesis, {who}")
        # A folder of its own per run: hypothesis and schemathesis keep their
        # state (.hypothesis, .schemathesis) in the working directory.
        with tempfile.TemporaryDirectory(prefix="myapp-fuzz-") as state:
            report = Path(state) / "report.json"
            command = [
                BIN / "schemathesis", "--config-file", SCHEMATHESIS_CONFIG, "run",
                f"{base}/api/openapi.json", *overrides, *extra,
                "--report", "json", "--report-json-path", report,
            ]
            environ = {**os.environ, "SCHEMATHESIS_HOOKS": str(SCHEMATHESIS_HOOKS)}
            returncode = subprocess.run(command, cwd=state, env=environ).returncode
            counts = fuzz_counts(report) or (0, 1)
        ok &= returncode == 0 and counts[1] == 0
        COUNTS.record(f"fuzz on {label}, {who}", *counts)
    return ok


CHECKS = {"conformance": conformance, "fuzz": fuzz}


def run_checks(label, database, checks):
    """Migrate, serve and check one fresh database; True when every check passed."""
    print(f"=== {', '.join(checks)} on {label}")
    with database as (ini, config_vars, environ):
        server = AppServer(ini, config_vars=config_vars, environ=environ)
        with server:
            passed = True
            for check in checks:
                passed &= CHECKS[check](server.base, label)
            if not server.wait_until_healthy():
                print("pserve stopped answering during the checks")
                passed = False
            if not passed:
                print(f"--- pserve {ini} output\n{server.output()}--- end of pserve output")
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
        except Exception as exc:  # a failed migration or an unreachable server: report, go on
            traceback.print_exc()
            if isinstance(exc, subprocess.CalledProcessError):  # the migration's own words
                for output in (exc.stdout, exc.stderr):
                    print((output or b"").decode(errors="replace"), end="")
            passed = False
            COUNTS.record(f"{' and '.join(checks)} on {label}, did not run", 0, 1)
        results[label] = f"{'passed' if passed else 'FAILED'} ({time.monotonic() - started:.0f} s)"
    print(f"{' and '.join(checks)}: " + ", ".join(f"{label} {result}" for label, result in results.items()))
    return 0 if all(result.startswith("passed") for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
