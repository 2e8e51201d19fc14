"""Fewer round trips (myapp.round_trips): a pooled connection the server ended is
replaced at checkout without a ping per request; BEGIN goes with the first statement.

The app runs without ``pool_pre_ping`` (as production.ini does): the check
looks at the socket instead of sending a ping. Without it, the request after
the server ended the pooled connection would fail (503).
"""

import time

import pytest
import sqlalchemy as sa

from myapp.db import get_engine

from .conftest import app_engine
from .contract import ContractTestApp

SETTLE_SECONDS = 5


def test_a_connection_the_server_ended_is_replaced(make_app, backend, db_engine):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL pool check")
    app = make_app(**{"sqlalchemy.pool_size": "1", "sqlalchemy.max_overflow": "0"})
    client = ContractTestApp(app)
    client.get("/api/tags", status=200)
    with app_engine(app).connect() as connection:  # the pool's one connection
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with db_engine.connect() as admin:
        assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and admin.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar():
            time.sleep(0.05)
    assert client.get("/api/tags", status=200).json == {"tags": []}
    with app_engine(app).connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid


@pytest.mark.parametrize("setting, pings", [("false", 0), ("true", 2)])
def test_pool_pre_ping_from_an_ini_string(database_url, setting, pings):
    """``sqlalchemy.pool_pre_ping = false`` in an ini file means no ping (the
    string "false" is not taken for true)."""
    engine = get_engine({"sqlalchemy.url": database_url, "sqlalchemy.pool_pre_ping": setting})
    sent = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda connection: sent.append(1) or ping(connection)
    try:
        for _ in range(3):  # the first checkout is of a fresh connection: no ping
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert len(sent) == pings
