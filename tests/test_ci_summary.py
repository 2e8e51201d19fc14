"""``.ci/run``'s closing line sums what really ran, and never reads "0 failed" on a red run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPTS = Path(ROOT) / "scripts"
sys.path.insert(0, str(SCRIPTS))
import live_checks  # noqa: E402

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest"
 errors="{errors}" failures="{failures}" skipped="{skipped}" tests="{tests}" time="1.0"/></testsuites>"""


def summary(tmp_path, *phases):
    done = subprocess.run(
        [sys.executable, SCRIPTS / "ci_summary.py", tmp_path, *phases],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.splitlines()


def write_counts(tmp_path, name, what, passed, failed):
    (tmp_path / name).write_text(json.dumps({"what": what, "passed": passed, "failed": failed}))


def test_the_last_line_sums_pytest_conformance_and_fuzz(tmp_path):
    (tmp_path / "test.xml").write_text(JUNIT.format(tests=10, failures=0, errors=0, skipped=3))
    write_counts(tmp_path, "conformance-on-sqlite.json", "conformance on SQLite", 154, 0)
    write_counts(tmp_path, "fuzz-on-sqlite-anonymous.json", "fuzz on SQLite, anonymous", 1500, 0)
    lines = summary(tmp_path, "install=0:40", "test=0:60", "conformance=0:80", "fuzz=0:90")
    assert lines[-1] == "1661 passed, 0 failed"  # the 3 skipped tests count neither way
    assert "phase fuzz: 90 s, ok" in lines


def test_failures_and_errors_count_as_failed(tmp_path):
    (tmp_path / "test.xml").write_text(JUNIT.format(tests=10, failures=2, errors=1, skipped=0))
    write_counts(tmp_path, "fuzz-on-sqlite-signed-in.json", "fuzz on SQLite, signed in", 90, 4)
    lines = summary(tmp_path, "test=1:60", "fuzz=1:90")
    assert lines[-1] == "97 passed, 7 failed"


def test_a_phase_that_failed_without_counting_a_failure_adds_one(tmp_path):
    lines = summary(tmp_path, "install=2:5")
    assert lines[-1] == "0 passed, 1 failed"
    assert "phase install: 5 s, FAILED (exit status 2)" in lines


@pytest.mark.parametrize(
    "line, counts",
    [
        ("│ Requests      │ 10 (10 Passed) │", (10, 0)),
        ("│ Requests      │ 10 (8 Passed, 1 Failed, 1 Skipped) │", (8, 2)),
        ("\x1b[1m│ Requests │\x1b[22m 3 (\x1b[31m3 Failed\x1b[39m) │", (0, 3)),
        ("│ Assertions    │     10/10      │", None),
    ],
)
def test_bruno_summary_rows_are_counted_in_requests(line, counts):
    assert live_checks.bruno_counts(line) == counts


def test_fuzz_cases_come_from_the_schemathesis_report(tmp_path):
    report = tmp_path / "report.json"
    cases = {"generated": 100, "with_failures": 2, "errored": 1, "without_checks": 5}
    report.write_text(json.dumps({"test_cases": cases, "exit_code": 1, "errors": []}))
    assert live_checks.fuzz_counts(report) == (92, 3)
    # A crash outside any test case still fails the count.
    cases = {"generated": 100, "with_failures": 0, "errored": 0, "without_checks": 0}
    report.write_text(json.dumps({"test_cases": cases, "exit_code": 1, "errors": [{"count": 2}]}))
    assert live_checks.fuzz_counts(report) == (100, 2)
    assert live_checks.fuzz_counts(tmp_path / "missing.json") is None
