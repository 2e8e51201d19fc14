"""Production's workers and the garbage collector (myapp.gc_freeze, myapp.gc_threshold).

Each gunicorn worker of ``pserve production.ini`` freezes what start-up made
(gc.freeze) and sets the ini's thresholds, and says so in one log line; these
tests read those lines from real worker processes.
"""

import re
import time

from .server import AppServer, production_environ

LINE = re.compile(r"worker (\d+): (\d+) objects frozen \(gc\.freeze\), gc thresholds (\d+ \d+ \d+)")


def worker_lines(private_database, **config_vars):
    """Each worker's line, once both said it (the first answers before the second is up)."""
    environ = production_environ(private_database, WEB_CONCURRENCY="2")
    with AppServer("production.ini", config_vars=config_vars, environ=environ) as server:
        deadline = time.monotonic() + 30
        while len(LINE.findall(server.output())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(10):  # served while frozen
            assert server.request("GET", "/api/tags")[0] == 200
        return LINE.findall(server.output())


def test_each_worker_freezes_its_start_up_and_sets_the_ini_thresholds(private_database):
    lines = worker_lines(private_database, gc_threshold="5000 20 30")
    assert len({pid for pid, _, _ in lines}) == 2, lines  # both workers, once each
    for _pid, frozen, thresholds in lines:
        # The application, its libraries and their tables: tens of thousands of objects.
        assert int(frozen) > 20_000
        assert thresholds == "5000 20 30"


def test_a_worker_told_not_to_freeze_keeps_pythons_collector(private_database):
    lines = worker_lines(private_database, gc_freeze="false")
    assert len(lines) == 2
    assert all(frozen == "0" and thresholds == "700 10 10" for _, frozen, thresholds in lines)
