"""Safe methods read in a read-only transaction on PostgreSQL: a write under GET fails."""

import logging

import pytest
import webtest
from pyramid.scripting import prepare

from myapp import pshell
from myapp.users.models import User

from ..conftest import app_engine
from ..helpers import db_snapshot


def write_under_get_view(config):
    def write_under_get(request):
        request.dbsession.add(User(username="sneaky", email="sneaky@example.com", password_hash="x"))
        request.dbsession.flush()
        return {}

    config.add_route("write_under_get", "/_test/write_under_get")
    config.add_view(write_under_get, route_name="write_under_get", request_method="GET", renderer="json")


@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("read-only transactions are PostgreSQL's")


def test_a_view_that_writes_under_get_fails_loudly_and_writes_nothing(
    postgresql_only, make_app, db_engine, caplog
):
    client = webtest.TestApp(make_app(includes=[write_under_get_view]))
    before = db_snapshot(db_engine)
    response = client.get("/_test/write_under_get", status=500)
    assert response.json == {"errors": {"server": ["internal error"]}}
    assert db_snapshot(db_engine) == before
    errors = [r.exc_info[1] for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert any("read-only transaction" in str(error) for error in errors)


def test_pshell_sessions_can_still_write(app, db_engine):
    env = prepare(registry=app.registry)
    try:
        pshell.setup(env)
        env["dbsession"].add(User(username="shell", email="shell@example.com", password_hash="x"))
        env["tm"].commit()
    finally:
        env["closer"]()
    assert [row[1] for row in db_snapshot(db_engine)["users"]] == ["shell"]


PREPARED = "SELECT count(*) FROM pg_prepared_statements"


def test_reads_keep_their_connection_s_prepared_statements(postgresql_only, make_app):
    """A read ends with COMMIT, not ROLLBACK: psycopg drops a connection's prepared
    statements on every ROLLBACK, so a statement run once per request was never
    prepared and PostgreSQL planned it on every request."""
    app = make_app(**{"sqlalchemy.pool_size": "1", "sqlalchemy.max_overflow": "0"})
    client = webtest.TestApp(app)
    for _ in range(8):  # psycopg prepares a statement on its 6th run on a connection
        assert client.get("/api/tags", status=200).json == {"tags": []}
    with app_engine(app).connect() as connection:  # the pool's one connection
        assert connection.exec_driver_sql(PREPARED).scalar() >= 1


def test_a_read_whose_statement_failed_is_rolled_back(postgresql_only, make_app, db_engine):
    """COMMIT only ends a read that did not fail: a failed statement's transaction is
    rolled back, and the connection serves the next request."""
    app = make_app(
        includes=[write_under_get_view],
        **{"sqlalchemy.pool_size": "1", "sqlalchemy.max_overflow": "0"},
    )
    client = webtest.TestApp(app)
    before = db_snapshot(db_engine)
    client.get("/_test/write_under_get", status=500)
    assert db_snapshot(db_engine) == before
    assert client.get("/api/tags", status=200).json == {"tags": []}
