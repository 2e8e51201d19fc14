"""Canaries: the library internals myapp relies on, checked so that an upgrade
that changes one of them fails here, loudly, instead of silently turning a
guarantee into a no-op. setup.py keeps these libraries below their next major
version; a failure here says which assumption to revisit, and where.

- zope.sqlalchemy's datamanager (myapp.db.sessions attaches its listeners to
  the session factory, reading each session's manager from ``session.info``);
- psycopg's cancel and transaction status (myapp.db.budgets' watchdog);
- SQLAlchemy's ``Connection._cursor_execute`` (myapp.db.compiled runs the hot
  reads through it);
- gunicorn's module-level ``Response`` and ``util.write_error``, looked up at
  call time (myapp.server replaces both in its workers).
"""

import inspect
import threading

import psycopg
import pytest
import sqlalchemy as sa
import transaction
import zope.sqlalchemy
from gunicorn import util as gunicorn_util
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers import base as gunicorn_base
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from zope.sqlalchemy import datamanager

from myapp.db import get_engine, get_session_factory, get_tm_session, mark_session_changed
from myapp.db.sessions import SESSION_EVENTS, SessionTransactionEvents

# --- zope.sqlalchemy ------------------------------------------------------------------


def test_zope_sqlalchemy_registers_exactly_the_listeners_myapp_attaches():
    """If zope.sqlalchemy's ``register`` listens to another event, so must myapp.db.sessions."""
    factory = sessionmaker()
    ext = zope.sqlalchemy.register(factory, transaction_manager=transaction.TransactionManager())
    session_events = [name for name in dir(sa.orm.SessionEvents) if not name.startswith("_")]
    registered = {
        name for name in session_events
        if hasattr(ext, name) and event.contains(factory, name, getattr(ext, name))
    }
    assert registered == set(SESSION_EVENTS)


def test_zope_sqlalchemy_internals_keep_their_shape():
    """What SessionTransactionEvents calls, with the arguments it passes."""
    events = SessionTransactionEvents()
    assert isinstance(events, datamanager.ZopeTransactionEvents)
    assert events.initial_state == datamanager.STATUS_ACTIVE and events.keep_session is False
    assert list(inspect.signature(datamanager.join_transaction).parameters) == [
        "session", "initial_state", "transaction_manager", "keep_session"]
    assert list(inspect.signature(datamanager.mark_changed).parameters) == [
        "session", "transaction_manager", "keep_session"]
    assert datamanager.ZopeStatus.COMMITTING == "Committing"


@pytest.fixture
def sqlite_factory(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/canary.sqlite"})
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield get_session_factory(engine), engine
    engine.dispose()


def rows(engine):
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT n FROM t ORDER BY n").scalars().all()


def test_a_core_write_commits_only_when_marked_changed(sqlite_factory):
    """The datamanager commits a joined session only when it was marked changed."""
    factory, engine = sqlite_factory
    for n, mark in ((1, False), (2, True)):
        manager = transaction.TransactionManager(explicit=True)
        with manager:
            session = get_tm_session(factory, manager)
            session.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
            if mark:
                mark_session_changed(session)
        session.close()
    assert rows(engine) == [2]


def test_the_manager_aborts_and_only_the_manager_commits(sqlite_factory):
    factory, engine = sqlite_factory
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(factory, manager)
    session.execute(sa.text("INSERT INTO t VALUES (3)"))
    mark_session_changed(session)
    with pytest.raises(AssertionError, match="transaction manager"):
        session.commit()
    manager.abort()
    session.close()
    assert rows(engine) == []


# --- psycopg ------------------------------------------------------------------------------


def test_psycopg_reports_a_running_statement_and_cancels_it_on_the_server(database_url, backend):
    """The watchdog's two assumptions: ACTIVE while a statement runs, cancel_safe ends it."""
    if backend != "postgresql":
        pytest.skip("psycopg")
    assert "timeout" in inspect.signature(psycopg.Connection.cancel_safe).parameters
    url = sa.engine.make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        outcome = []

        def sleep():
            try:
                connection.execute("SELECT pg_sleep(30)")
            except psycopg.errors.QueryCanceled:
                outcome.append("cancelled")

        sleeper = threading.Thread(target=sleep)
        sleeper.start()
        for _ in range(200):
            if connection.pgconn.transaction_status == TransactionStatus.ACTIVE:
                break
            threading.Event().wait(0.01)
        assert connection.pgconn.transaction_status == TransactionStatus.ACTIVE
        connection.cancel_safe(timeout=5)
        sleeper.join(10)
        assert outcome == ["cancelled"]
        connection.rollback()
        assert connection.execute("SELECT 1").fetchone() == (1,)


# --- gunicorn -------------------------------------------------------------------------------


def test_gunicorn_looks_up_response_write_error_and_http_date_at_call_time():
    """myapp.server replaces these module attributes in its workers; that works only
    while gunicorn reads them when it answers, not once at import."""
    assert "util.http_date()" in inspect.getsource(gunicorn_wsgi.Response.default_headers)
    assert "response_class = Response" in inspect.getsource(gunicorn_wsgi.create)
    assert "util.write_error(" in inspect.getsource(gunicorn_base.Worker.handle_error)
    assert list(inspect.signature(gunicorn_util.write_error).parameters) == [
        "sock", "status_int", "reason", "mesg"]
    assert callable(gunicorn_util.write_nonblock)
    assert "Server:" in "".join(inspect.getsource(gunicorn_wsgi.Response.default_headers))


# --- SQLAlchemy ------------------------------------------------------------------------


def test_sqlalchemy_cursor_execute_fires_the_cursor_events_and_wraps_errors(tmp_path):
    """myapp.db.compiled runs the hot reads through ``Connection._cursor_execute``: it must
    keep firing ``before/after_cursor_execute`` (the access log's statement count, the
    tests' statement counter) and turn a DBAPI error into SQLAlchemy's through
    ``handle_error`` (replica loss, disconnects, pyramid_retry's tagging)."""
    assert list(inspect.signature(sa.engine.Connection._cursor_execute).parameters)[:4] == [
        "self", "cursor", "statement", "parameters"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'canary.sqlite'}")
    seen = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append("before"))
    event.listen(engine, "after_cursor_execute", lambda *a: seen.append("after"))
    event.listen(engine, "handle_error", lambda context: seen.append("error"))
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        connection._cursor_execute(cursor, "SELECT ? + 1", (41,))
        assert cursor.fetchall() == [(42,)]
        with pytest.raises(sa.exc.OperationalError):
            connection._cursor_execute(cursor, "SELECT * FROM no_such_table", ())
        cursor.close()
    assert seen == ["before", "after", "before", "error"]
