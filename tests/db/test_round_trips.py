"""Fewer round trips (myapp.db.round_trips): a pooled connection the server ended is
replaced at checkout without a ping per request; BEGIN goes with the first statement.

The app runs without ``pool_pre_ping`` (as production.ini does): the check
looks at the socket instead of sending a ping. Without it, the request after
the server ended the pooled connection would fail (503).
"""

import time

import pytest
import sqlalchemy as sa

from myapp.db import get_engine

from ..conftest import app_engine
from ..contract import ContractTestApp

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


def test_the_first_statement_is_inside_the_transaction(backend, db_engine):
    """BEGIN comes before the first statement: rolling back undoes that
    statement; an error in it is an ordinary SQLAlchemy error and leaves the
    connection usable."""
    if backend != "postgresql":
        pytest.skip("psycopg's BEGIN")
    engine = get_engine({"sqlalchemy.url": db_engine.url.render_as_string(hide_password=False)})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("CREATE TEMPORARY TABLE probe (n int)"))
            connection.commit()
            connection.execute(sa.text("INSERT INTO probe VALUES (1)"))  # the first statement
            connection.rollback()
            assert connection.execute(sa.text("SELECT count(*) FROM probe")).scalar() == 0
            connection.rollback()
            with pytest.raises(sa.exc.DataError):
                connection.execute(sa.text("SELECT 1 / 0"))
            connection.rollback()
            assert connection.execute(sa.text("SELECT 2")).scalar() == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize("options", [
    {"stream_results": True, "max_row_buffer": 10},
    {"yield_per": 10},
])
def test_a_streamed_query_runs_as_the_first_statement_of_a_request(make_app, backend, options):
    """A server-side cursor (``stream_results``, ``yield_per``) on the app's own
    engine, first in its transaction, as a view streaming a large answer would."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's server-side cursors")
    engine = app_engine(make_app())
    with engine.connect() as connection:
        result = connection.execution_options(**options).execute(
            sa.text("SELECT n FROM generate_series(1, 95) AS n"))
        assert [row.n for row in result] == list(range(1, 96))
