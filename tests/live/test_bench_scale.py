"""The scale bench at 10k articles, as ``make bench-scale SIZE=10k`` runs it, in short.

Seeded with SQL on a private cluster, served by ``pserve production.ini``:
every read's answer is checked against SQL (counts of every filter, slugs at
several offsets and after a cursor, flags, tags), and again after the writes
with every maintained count against ``count(*)``. No timing is asserted;
every timed request must have succeeded.
"""

import shutil

from bench.scale.__main__ import table
from bench.scale.run import read_endpoints, run_size

from .cluster import require


def test_the_scale_bench_checks_every_answer_at_10k(capsys):
    require(shutil.which("wrk"), "wrk is not installed (scripts/install-wrk.sh)")
    result = run_size("10k", duration=1, rounds=10, explain=True, log=lambda message: None)
    assert result["seed"]["total"] > 0
    assert len(result["reads"]) == len(read_endpoints(_Any()))
    failed = {name: timing.errors for name, timing in {**result["reads"], **result["writes"]}.items()
              if timing.errors}
    assert failed == {}
    assert result["counted_subjects"] > 1000
    assert result["slowest"] and result["plans"]
    assert "Index" in result["plans"][0][1] or "Scan" in result["plans"][0][1]
    with capsys.disabled():
        print("\n" + table([result]))


class _Any:
    def __getattr__(self, name):
        return "x"
