"""``make bench`` end to end, in a few seconds: tiny data, 1-second runs, one round,
one worker per target (fewer processes to start), wrk -c4.

No timing is asserted: only that every target started the way production
starts (this tree through ``pserve production.ini``, and through
``make production``'s script when the tree has one; the "before" commit when
the clone has it), that each served its own tree's code, that the design
floor and the bare baseline answered byte for byte what this tree answers
(the bench refuses to measure otherwise), that every request of the load
succeeded, and that the tables were printed.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BEFORE_COMMIT, THIS_TREE
from bench.targets import topologies

from .cluster import require, server_bindir

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "afgh"  # with baselines (a, f), a toggle (g) and a post (h)
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
    before = BEFORE_COMMIT if _has_commit(BEFORE_COMMIT) else ""
    commands = [c for c in topologies(ROOT) if c == "pserve" or shutil.which("nginx")]
    # -c4: under every admission limit, so that any non-2xx is a broken scenario.
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "tiny", "--duration", "1", "--rounds", "1",
         "--scenarios", SCENARIOS, "--before-commit", before, "--session-iterations", "50",
         "--workers", "1", "--levels", "4", "--sweep", "", "--topologies", ",".join(commands)],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    table = completed.stdout
    mine = [f"{THIS_TREE} ({c})" for c in commands] if len(commands) > 1 else [THIS_TREE]
    assert "this tree: `pserve production.ini`" in table or "(pserve): `pserve production.ini`" in table
    targets = mine + ["design floor", "bare"] + ([f"before {BEFORE_COMMIT}"] if before else [])
    rows = re.findall(
        r"^\| (\w) [^|]+ \| ([^|]+) \| [\d,]+ \|(?:[^|]*\|){5} (\d+) \| [\d.]+ \(\+[\d.]+\) \| [\d.]+"
        r" \| ([\d,]+) \| ([\d,]+) \|$",
        table, re.MULTILINE,
    )
    seen = {(key, target.strip()) for key, target, *_ in rows}
    # Every target's server and PostgreSQL spent CPU time on its requests.
    assert all(int(server.replace(",", "")) > 0 and int(database.replace(",", "")) > 0
               for *_, server, database in rows), table
    for key in SCENARIOS:
        for target in targets:
            if target not in ("bare", "design floor") or key in "adef":
                assert (key, target) in seen, (key, target, table)
    assert all(int(non2xx) == 0 for _, _, non2xx, _, _ in rows), table
    assert "Issue 18's targets" in table and "New Session per request" in table


def test_the_profile_runs_and_accounts_for_every_layer():
    """``make profile`` on tiny data: every request answered 200, every tween has its row,
    and no layer comes out negative (the layers are nested calls, subtracted)."""
    require(server_bindir(), "PostgreSQL's server binaries (initdb) are not installed")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.profile", "--size", "tiny", "--requests", "50",
         "--scenarios", "fg", "--top", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    headings = re.findall(r"^#### (\w) .*: \d+ µs per request without the profiler \((.*)\)$", out, re.MULTILINE)
    assert [key for key, _ in headings] == ["f", "g"], out
    assert all(re.fullmatch(r"\d+× 200 OK", statuses) for _, statuses in headings), out
    chain = re.search(r"^Tween chain, outermost first: (.*) → router\.$", out, re.MULTILINE).group(1)
    for tween in chain.split(" → "):
        if tween != "pyramid_tm.tm_tween_factory":
            assert f"| tween {tween} |" in out, (tween, out)
    values = re.findall(r"^\| [^|]+ \| (-?\d+) \| -?\d+% \|$", out, re.MULTILINE)
    assert values and all(int(value) >= 0 for value in values), out


def test_the_cpu_comparison_runs_with_the_floor_answering_the_same_bytes():
    """``make cpu`` on tiny data: both targets answered every request with 200 (it stops
    first when the floor and this tree answer differently), CPU time measured for each."""
    require(server_bindir(), "PostgreSQL's server binaries (initdb) are not installed")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cpu", "--size", "tiny", "--requests", "30", "--batches", "2",
         "--scenarios", "df"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    rows = re.findall(r"^\| (\w) [^|]+ \| (this tree|design floor) \| (\d+) \| (\d+) \| (.*) \|$", out, re.MULTILINE)
    assert sorted((key, target) for key, target, *_ in rows) == [
        ("d", "design floor"), ("d", "this tree"), ("f", "design floor"), ("f", "this tree")], out
    assert all(int(cpu) > 0 and statuses == "60× 200 OK" for *_, cpu, _, statuses in rows), out
