"""Replicas are checked off the request path (myapp.db.replication.replicas).

Real standbys, lag and read-your-writes: tests/live/test_topology.py.
"""

import socket
import time

import pytest

from ..contract import ContractTestApp


@pytest.fixture
def black_hole():
    """A TCP address that accepts connections (the kernel does) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def test_a_black_holed_replica_adds_nothing_to_any_request(make_app, backend, black_hole):
    if backend != "postgresql":
        pytest.skip("read replicas are PostgreSQL's")
    app = make_app(**{
        "myapp.replica_urls": f"postgresql+psycopg://postgres@127.0.0.1:{black_hole}/nowhere",
        "myapp.replica_check_interval_seconds": "0.2",
        # Connecting to it takes libpq's shortest connect timeout, 2 s, every time.
        "myapp.db.connect_timeout": "2",
    })
    client = ContractTestApp(app)
    client.get("/api/tags")  # the first request opens the pool
    slowest, started = 0.0, time.monotonic()
    while time.monotonic() - started < 5:  # many check intervals, a few connect timeouts
        began = time.monotonic()
        response = client.get("/api/tags")
        slowest = max(slowest, time.monotonic() - began)
        assert response.json == {"tags": []}
        time.sleep(0.02)
    print(f"slowest read with a black-holed replica: {slowest:.3f} s")
    assert slowest < 1.0, "a request waited for the replica's check"
