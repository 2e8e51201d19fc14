"""A time budget on every database wait: over budget, a JSON 503 with Retry-After,
nothing written, the connection usable afterwards, and no pointless replay.

Short budgets here (tenths of a second) keep the tests fast; production's
defaults are in production.ini. Real servers and a frozen database:
tests/live/test_reliability.py.
"""

import sqlite3
import time

import psycopg
import pytest
import sqlalchemy as sa
import webtest
from pyramid.view import view_config
from sqlalchemy.engine import make_url

from myapp.db import watchdog

from ..conftest import app_engine
from ..contract import ContractTestApp
from ..helpers import alice, auth, create_article  # noqa: F401

GENEROUS = 2  # a wait answers within GENEROUS x its budget (+ a little, on a noisy machine)


@view_config(route_name="budget_sleep", request_method="GET", renderer="json")
def sleep_in_the_database(request):
    calls = request.registry.setdefault("sleep_calls", [])
    calls.append(request.environ.get("retry.attempt", 0))
    request.dbsession.execute(sa.text("SELECT pg_sleep(:s)"), {"s": float(request.params["s"])})
    return {"backend": request.dbsession.scalar(sa.text("SELECT pg_backend_pid()"))}


@view_config(route_name="budget_settings", request_method="GET", renderer="json")
def timeout_settings_in_effect(request):
    show = lambda name: request.dbsession.scalar(sa.text(f"SHOW {name}"))  # noqa: E731
    return {name: show(name) for name in (
        "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}


def budget_views(config):
    config.add_route("budget_sleep", "/_test/sleep")
    config.add_route("budget_settings", "/_test/settings")
    config.scan(__name__)


@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's statement, lock and client-side budgets")


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_budget_overrun(response):
    assert response.status_int == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json == {"errors": {"database": ["unavailable"]}}


@pytest.mark.parametrize("via", ["startup", "transaction"])
def test_each_mechanism_sets_the_server_side_budgets(make_app, postgresql_only, via):
    app = make_app(includes=[budget_views], **{
        "myapp.db.timeouts_via": via, "myapp.db.statement_timeout": "4.5",
        "myapp.db.lock_timeout": "1.5", "myapp.db.idle_in_transaction_timeout": "9",
    })
    shown = webtest.TestApp(app).get("/_test/settings").json
    assert shown == {"statement_timeout": "4500ms", "lock_timeout": "1500ms",
                     "idle_in_transaction_session_timeout": "9s"}


@pytest.mark.parametrize("overrun, settings, budget", [
    # PostgreSQL's own budget: the query is cancelled, the connection rolled back and reused.
    ("statement", {"myapp.db.statement_timeout": "0.3"}, 0.3),
    # The server-side budget is too long to fire: the request's deadline does, and the
    # statement is cancelled on the server; the connection is rolled back and reused too.
    ("request deadline", {"myapp.db.statement_timeout": "30", "myapp.db.request_timeout": "0.5"},
     0.5),
])
def test_a_wait_over_budget_answers_503_once_and_the_pool_stays_usable(
    make_app, postgresql_only, overrun, settings, budget
):
    app = make_app(includes=[budget_views], **{"sqlalchemy.pool_size": "1", **settings})
    client = webtest.TestApp(app)  # test-only views: not in the OpenAPI document
    backend_before = client.get("/_test/sleep?s=0").json["backend"]
    response, elapsed = timed(lambda: client.get("/_test/sleep?s=5", status=503))
    backend_after = client.get("/_test/sleep?s=0").json["backend"]
    attempts = app.registry["sleep_calls"][1:-1]
    print(f"{overrun} budget {budget} s: 503 after {elapsed:.2f} s, attempts {attempts}, "
          f"backend {backend_before} -> {backend_after}")
    assert_budget_overrun(response)
    assert elapsed < GENEROUS * budget + 1
    assert attempts == [0], "a budget overrun is not replayed"
    assert backend_after == backend_before, "the same connection, clean"
    assert app_engine(app).pool.checkedout() == 0


def running_sleeps(db_engine):
    """Statements still running ``pg_sleep`` on the server, but this very query."""
    with db_engine.connect() as connection:
        return connection.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()"))


def pooled_backends(engine, count):
    """The server process ids of ``count`` connections taken from the pool at once."""
    connections = [engine.connect() for _ in range(count)]
    try:
        return {c.scalar(sa.text("SELECT pg_backend_pid()")) for c in connections}
    finally:
        for connection in connections:
            connection.close()


def overrun(make_app, request_timeout):
    """A 20 s sleep on a pool of 3 under ``request_timeout``: (answer, seconds, the
    pool's server processes before, the app's engine)."""
    app = make_app(includes=[budget_views], **{
        "sqlalchemy.pool_size": "3", "myapp.db.statement_timeout": "30",
        "myapp.db.request_timeout": str(request_timeout)})
    engine = app_engine(app)
    before = pooled_backends(engine, 3)
    response, elapsed = timed(lambda: webtest.TestApp(app).get("/_test/sleep?s=20", status=503))
    return response, elapsed, before, engine


def test_a_deadline_overrun_cancels_its_statement_and_leaves_the_other_connections(
    make_app, postgresql_only, db_engine
):
    """The deadline cancels the statement on the server; no connection is recycled."""
    response, elapsed, before, engine = overrun(make_app, 0.5)
    still_running = running_sleeps(db_engine)
    after = pooled_backends(engine, 3)
    print(f"overrun: 503 after {elapsed:.2f} s, {still_running} statement(s) left running, "
          f"backends {sorted(before)} -> {sorted(after)}")
    assert_budget_overrun(response)
    assert elapsed < GENEROUS * 0.5 + 2
    assert still_running == 0, "the abandoned statement still runs on the server"
    assert after == before, "the pool's connections were recycled"


def test_a_server_that_takes_no_cancel_loses_the_connection_and_the_watchdog_keeps_nothing(
    make_app, postgresql_only, db_engine, monkeypatch
):
    """Past the deadline and the cancel's grace, the connection's socket is shut down:
    503, only that connection is replaced, the statement ends on the server, and no
    trace of the discarded connection stays armed in the watchdog."""
    def no_cancel(connection, timeout=None):
        raise psycopg.OperationalError("the server takes no cancel (simulated)")

    monkeypatch.setattr(psycopg.Connection, "cancel_safe", no_cancel)
    monkeypatch.setattr(watchdog, "CANCEL_GRACE", 0.3)
    response, elapsed, before, engine = overrun(make_app, 0.3)
    kept = [c for c in (*watchdog.WATCHDOG.armed, *watchdog.WATCHDOG.cancelling) if c.closed]
    after = pooled_backends(engine, 3)
    ended = time.monotonic() + 10  # client_connection_check_interval: 1 s
    while running_sleeps(db_engine) and time.monotonic() < ended:
        time.sleep(0.1)
    print(f"no cancel: 503 after {elapsed:.2f} s, backends {sorted(before)} -> {sorted(after)}")
    assert_budget_overrun(response)
    assert elapsed < GENEROUS * (0.3 + 0.3) + 2
    assert kept == [], "the watchdog still holds the discarded connection"
    assert len(before & after) == 2, "only the shut-down connection was replaced"
    assert running_sleeps(db_engine) == 0, "the abandoned statement still runs on the server"


def test_a_locked_table_answers_503_within_the_lock_budget_and_nothing_is_written(
    make_app, postgresql_only, db_engine, alice  # noqa: F811
):
    client = ContractTestApp(make_app(**{"myapp.db.lock_timeout": "0.3"}))
    token = alice.token
    with db_engine.connect() as holder:
        holder.exec_driver_sql("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
        read, read_time = timed(lambda: client.get("/api/articles", status=503))
        write, write_time = timed(lambda: client.post_json(
            "/api/articles", {"article": {"title": "t", "description": "d", "body": "b"}},
            headers=auth(token), status=503))
        holder.rollback()
    print(f"lock budget 0.3 s: GET 503 after {read_time:.2f} s, POST 503 after {write_time:.2f} s")
    assert_budget_overrun(read)
    assert_budget_overrun(write)
    assert read_time < GENEROUS * 0.3 + 1 and write_time < GENEROUS * 0.3 + 1
    assert client.get("/api/articles").json == {"articles": [], "articlesCount": 0}
    create_article(client, token)  # the pool's connections are clean


def test_sqlite_honours_its_busy_timeout_and_writes_nothing(make_app, backend, database_url):
    if backend != "sqlite":
        pytest.skip("SQLite's busy timeout")
    client = ContractTestApp(make_app(**{"myapp.sqlite.busy_timeout": "0.4"}))
    body = {"user": {"username": "waiter", "email": "w@example.com", "password": "password123"}}
    holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process' writer holds the write lock
        response, elapsed = timed(lambda: client.post_json("/api/users", body, status=503))
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    print(f"busy timeout 0.4 s: 503 after {elapsed:.2f} s")
    assert_budget_overrun(response)
    assert 0.3 < elapsed < GENEROUS * 0.4 + 1, "waited its busy timeout, once (no replay)"
    client.post_json("/api/users", body, status=201)
