"""``make bench`` end to end, in a few seconds: tiny data, 1-second runs, one round,
one gunicorn worker per target (fewer processes to start).

No timing is asserted: only that every target started (the baseline commit
when the clone has it), the bare baselines answered byte for byte what this
tree answers (the bench refuses to measure otherwise), every request of the
load succeeded, and the table was printed.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BASELINE_COMMIT

from .cluster import require, server_bindir

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "adfgh"  # bare baselines (a, d, f), a toggle (g) and a post (h)
TIMEOUT = 300  # seconds, for a machine under load


def _wrk_available():
    if shutil.which("wrk"):
        return True
    # Idempotent; installs Debian's package when we may (root or sudo).
    subprocess.run(["bash", str(ROOT / "scripts" / "install-wrk.sh")], capture_output=True)
    return shutil.which("wrk") is not None


def _has_commit(commit):
    found = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True
    )
    return found.returncode == 0


def test_the_bench_runs_and_prints_its_table():
    require(server_bindir(), "PostgreSQL's server binaries (initdb) are not installed")
    require(_wrk_available(), "wrk is not installed and scripts/install-wrk.sh could not install it")
    baseline = BASELINE_COMMIT if _has_commit(BASELINE_COMMIT) else ""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--duration", "1", "--rounds", "1",
         "--scenarios", SCENARIOS, "--baseline-commit", baseline, "--session-iterations", "50",
         "--workers", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    table = completed.stdout
    targets = ["this tree", "bare"] + ([f"main {BASELINE_COMMIT}"] if baseline else [])
    rows = re.findall(r"^\| (\w) [^|]+ \| ([^|]+) \| [\d,]+ \|.*\| (\d+) \| [\d.]+ \(\+[\d.]+\) \|$",
                      table, re.MULTILINE)
    seen = {(key, target.strip()) for key, target, _ in rows}
    for key in SCENARIOS:
        for target in targets:
            if target != "bare" or key in "adf":
                assert (key, target) in seen, (key, target, table)
    assert all(int(non2xx) == 0 for *_, non2xx in rows), table
    assert "New Session per request" in table
