"""Replicas are checked off the request path (myapp.db.replication.replicas).

Real standbys, lag and read-your-writes: tests/live/test_topology.py.
"""

import socket
import time

import pytest
import sqlalchemy as sa

from ..contract import ContractTestApp
from ..helpers import auth, register


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


class RecordedPositions:
    """WritePositions' interface, keeping what it is told instead of asking Redis."""

    def __init__(self):
        self.recorded = []

    def required(self, user_id):
        return 0

    def record(self, user_ids, lsn):
        self.recorded.append(list(user_ids))


def test_a_registration_records_its_new_user_as_the_writer(make_app, backend, database_url, db_engine):
    """Read-your-writes for a new account: the registration carried no token,
    yet the user it created is recorded as having written (the users package
    marks it through myapp.db.replication.note_writer)."""
    if backend != "postgresql":
        pytest.skip("read replicas are PostgreSQL's")
    app = make_app(**{"myapp.replica_urls": database_url})  # the primary as its own replica
    positions = app.registry["read_router"].positions = RecordedPositions()
    client = ContractTestApp(app)
    token, _ = register(client, "newcomer")
    with db_engine.connect() as connection:
        user_id = connection.execute(sa.text("SELECT id FROM users WHERE username = 'newcomer'")).scalar_one()
    assert positions.recorded == [[user_id]]
    client.put_json("/api/user", {"user": {"bio": "hello"}}, headers=auth(token))
    assert positions.recorded[-1] == [user_id]
    client.get("/api/user", headers=auth(token))  # a read records nothing
    assert len(positions.recorded) == 2
