"""The suite's own set-up, as a new user meets it: ``make test`` with no
configuration runs the PostgreSQL half wherever PostgreSQL is installed."""

import os
import subprocess
import sys

from .conftest import ROOT
from .live.cluster import require, server_bindir

ONE_TEST = "tests/test_migrations.py::test_the_database_is_at_the_single_head"


def test_without_a_database_url_the_postgresql_half_runs_on_a_private_cluster():
    require(server_bindir(), "PostgreSQL's server programs (initdb) are not installed")
    environ = {k: v for k, v in os.environ.items()
               if k not in ("MYAPP_TEST_DATABASE_URL", "MYAPP_REQUIRE_LIVE")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", ONE_TEST],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300,
    )
    print(run.stdout[-2000:])
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"PASSED {ONE_TEST}[postgresql]" in run.stdout
    assert "2 passed" in run.stdout and "deselected" not in run.stdout
    assert "ran on a private cluster" in run.stdout
