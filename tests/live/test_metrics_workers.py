"""Metrics with several worker processes: each process counts, /metrics adds them up.

Two ``pserve`` processes stand in for two gunicorn workers of one host: they
share one ``PROMETHEUS_MULTIPROC_DIR``, as the workers do.
"""

import re

from .server import AppServer


def requests_counted(server, route):
    status, _, body = server.request("GET", "/metrics")
    assert status == 200
    found = re.search(
        rf'^myapp_http_request_duration_seconds_count{{route="{route}",status_class="2xx"}} (\S+)$',
        body.decode(),
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


def test_metrics_add_up_the_requests_of_every_worker_process(tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    database = {"database_url": f"sqlite:///{tmp_path}/workers.sqlite"}
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with AppServer("development.ini", config_vars=database, environ=environ) as first, AppServer(
        "development.ini", config_vars=database, environ=environ, migrate=False
    ) as second:
        for server, count in ((first, 3), (second, 5)):
            for _ in range(count):
                assert server.request("GET", "/api/tags")[0] == 200
        assert requests_counted(first, "tags") == 8
        assert requests_counted(second, "tags") == 8
