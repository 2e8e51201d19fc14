"""The closing lines of ``.ci/run``: each phase's wall time, then the sum.

    ci_summary.py COUNTS_DIR NAME=EXIT_STATUS:SECONDS ...

Counts come from the files the phases left in COUNTS_DIR: ``<phase>.xml``
(pytest's JUnit report) and ``<phase>-*.json`` (``scripts/live_checks.py``:
conformance requests, fuzz test cases). Pytest tests count as passed only
when they passed: skipped and deselected ones count neither way, errors count
as failed. A phase that failed without a failure counted (it crashed, or
never got to its checks) adds one failed, so that a red run never sums to
"0 failed". The last line is the sum, alone: ``N passed, M failed``.
"""

import json
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path


def junit_counts(path):
    """(passed, failed, skipped) of a pytest JUnit XML report."""
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    passed = failed = skipped = 0
    for suite in suites:
        tests, skips = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failures = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        passed += tests - failures - skips
        failed += failures
        skipped += skips
    return passed, failed, skipped


def phase_counts(folder, phase):
    """[(what, passed, failed, note)] that ``phase`` left in ``folder``."""
    rows = []
    report = folder / f"{phase}.xml"
    if report.exists():
        try:
            passed, failed, skipped = junit_counts(report)
            rows.append(("pytest", passed, failed, f" ({skipped} skipped)" if skipped else ""))
        except (ElementTree.ParseError, ValueError):
            rows.append(("pytest: unreadable JUnit report", 0, 1, ""))
    for path in sorted(folder.glob(f"{phase}-*.json")):
        counts = json.loads(path.read_text())
        rows.append((counts["what"], counts["passed"], counts["failed"], ""))
    return rows


def main(argv=sys.argv):
    folder = Path(argv[1])
    total_passed = total_failed = 0
    lines = []
    for spec in argv[2:]:
        name, result = spec.split("=", 1)
        status, seconds = (int(part) for part in result.split(":"))
        rows = phase_counts(folder, name)
        failed_in_phase = sum(failed for _, _, failed, _ in rows)
        if status != 0 and failed_in_phase == 0:
            rows.append((f"{name}: failed (exit status {status}) with no failure counted", 0, 1, ""))
        verdict = "ok" if status == 0 else f"FAILED (exit status {status})"
        lines.append(f"phase {name}: {seconds} s, {verdict}")
        for what, passed, failed, note in rows:
            lines.append(f"  {what}: {passed} passed, {failed} failed{note}")
            total_passed += passed
            total_failed += failed
    print("\n".join(lines))
    print(f"{total_passed} passed, {total_failed} failed", flush=True)


if __name__ == "__main__":
    main()
