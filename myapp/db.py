"""The database session lifecycle: a brand-new Session for every request.

How a request uses the database
-------------------------------
1. At start-up ``includeme`` builds one Engine (the connection pool) and one
   ``sessionmaker`` from the settings and keeps the factory in the registry.
2. The first time a view touches ``request.dbsession``, ``request_dbsession``
   makes a new Session from that factory and joins it to the request's own
   transaction manager (``request.tm``) with zope.sqlalchemy. A request that
   never touches ``request.dbsession`` opens no session and no connection.
   zope.sqlalchemy's listeners are attached once, to the factory, not to
   each new session: attaching them per session cost more than the session
   itself (``make bench`` measures it); each session names its manager in
   ``session.info`` (myapp.session_events).
3. pyramid_tm (explicit manager) commits when the response is a success, and
   aborts when a view raised or the response is a 4xx/5xx (commit veto).
4. pyramid_retry replays the whole request, with a new request object and so a
   new session, when the failure was transient: a PostgreSQL serialization
   failure or deadlock (zope.sqlalchemy knows those), or a unique-constraint
   race (``IntegrityError``, below). A wait that used its whole time budget
   (myapp.db_timeouts; SQLite's busy timeout) is not replayed: it would only
   wait again.
5. A finished callback closes the session, handing its connection back to the
   pool, however the request ended (exception views included).

Why a new session per request: a Session is a cheap container for one unit of
work and one open transaction. Starting from an empty one means nothing of a
previous request (identity map, pending objects, a failed transaction) can
leak into the next, and ``expire_on_commit`` never matters because the
session is gone when the transaction is. Application code never calls
``commit()``: the transaction manager owns the outcome.
"""

import logging

import pyramid_retry
import pyramid_tm
from pyramid.settings import asbool
from sqlalchemy import engine_from_config, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from . import db_timeouts, round_trips, session_events
from .edge.validation import bounded_body

log = logging.getLogger(__name__)

#: Methods that do not write; every other method takes SQLite's write lock up front.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Two requests can both check that a username is free and both insert it; the
# loser's INSERT fails with an IntegrityError. Replaying the loser makes its
# check see the winner's row, so it answers a clean 409 instead of a 500.
# A deterministic IntegrityError (a bug) fails every attempt and surfaces once
# the attempts are used up.
pyramid_retry.mark_error_retryable(IntegrityError)


#: Seconds a SQLite writer waits for the write lock (``myapp.sqlite.busy_timeout``).
DEFAULT_SQLITE_BUSY_TIMEOUT = 5


def get_engine(settings, prefix="sqlalchemy."):
    """The Engine (and its pool) described by the ``sqlalchemy.*`` settings."""
    settings = dict(settings)
    pre_ping = prefix + "pool_pre_ping"
    if pre_ping in settings:
        # engine_from_config passes this one on as given: "false" would be true.
        settings[pre_ping] = asbool(settings[pre_ping])
    engine = engine_from_config(settings, prefix)
    if engine.dialect.name == "sqlite":
        busy = float(settings.get("myapp.sqlite.busy_timeout", DEFAULT_SQLITE_BUSY_TIMEOUT))
        _configure_sqlite(engine, busy_timeout_ms=round(busy * 1000))
    elif engine.dialect.driver == "psycopg":
        round_trips.install(engine)  # no ping, BEGIN with the first statement
    return engine


def get_request_engine(settings, budgets, via, prefix="sqlalchemy."):
    """``get_engine`` with a time budget on every PostgreSQL wait (myapp.db_timeouts).

    Only the application's requests get these budgets: migrations and scripts
    use ``get_engine``, where a long statement is legitimate.
    """
    engine = get_engine(settings, prefix)
    if engine.dialect.driver == "psycopg":
        db_timeouts.configure_postgresql(engine, budgets, via)
    return engine


def release_inherited_connections(registry):
    """In a process forked from the one that built the app: forget the parent's pool.

    A socket shared by two processes interleaves their protocol messages. The
    pools are still empty when the server forks (nothing connects at start-up),
    so this is a guarantee, not a repair: ``dispose(close=False)`` drops any
    inherited connection without closing the parent's socket, and the child
    opens its own on first use (SQLAlchemy's recipe for forked processes).
    """
    for engine in registry.get("engines", ()):
        engine.dispose(close=False)


def get_session_factory(engine):
    """The one ``sessionmaker`` of the application; a new Session per call."""
    factory = sessionmaker(bind=engine)
    session_events.attach(factory)  # zope.sqlalchemy's listeners, once for every session
    return factory


def get_tm_session(session_factory, transaction_manager, request=None, bind=None):
    """A new Session whose commit and rollback belong to ``transaction_manager``.

    Used for requests (``request.tm``) and outside them, in scripts and pshell,
    with any ``transaction.TransactionManager``::

        with transaction.manager as tm:
            dbsession = get_tm_session(factory, tm)
            ...

    ``bind`` picks another engine (or engine with options) for this session only.
    """
    options = {"info": {"request": request, session_events.TM_INFO_KEY: transaction_manager}}
    if bind is not None:
        options["bind"] = bind
    return session_factory(**options)


def request_dbsession(request):
    """``request.dbsession``: created on first access, closed when the request ends."""
    registry = request.registry
    if request.method in SAFE_METHODS:
        # myapp.replication: a read-only transaction, on a replica when one fits.
        bind = registry["dbsession_read_bind"](request)
    else:
        bind = registry["dbsession_write_bind"]
    dbsession = get_tm_session(registry["dbsession_factory"], request.tm, request, bind)
    # pyramid_tm has finished (commit or abort) by the time finished callbacks
    # run; closing here also covers a session first opened in an exception view,
    # after the transaction manager was done with the request.
    request.add_finished_callback(lambda request: dbsession.close())
    return dbsession


def commit_veto(request, response):
    """Abort on a 4xx/5xx response (pyramid_tm's default rule), after tagging.

    When an exception view has rendered the error, pyramid_tm asks the commit
    veto first and returns without tagging the squashed exception as
    retryable; a PostgreSQL serialization failure or deadlock would then never
    be replayed. Tag it here, while the session is still joined to the
    transaction and zope.sqlalchemy can recognise the error.
    """
    exc_info = getattr(request, "exc_info", None)
    if exc_info is not None:
        pyramid_tm.maybe_tag_retryable(request, exc_info)
    return pyramid_tm.default_commit_veto(request, response)


def retry_attempts(request):
    """pyramid_retry's ``retry.activate_hook``: one attempt for an over-limit body.

    To replay a request pyramid_retry first copies its body, before any view
    runs. A body over ``myapp.max_body_bytes`` is answered 413 unread
    (myapp.edge.validation), so it is not worth copying: one attempt, no copy.
    """
    limit = request.registry.get("max_body_bytes")
    if limit is not None and not bounded_body(request, limit):
        return 1
    return None  # the configured retry.attempts


def _configure_sqlite(engine, busy_timeout_ms):
    """Make an SQLite file behave under a threaded server.

    Foreign keys on; WAL so readers never block the writer; a busy timeout so
    a writer waits for the lock (up to ``myapp.sqlite.busy_timeout``) instead
    of failing at once; after that, "database is locked" answers 503 and is
    not replayed (another wait as long would break the request's budget).
    pysqlite's own implicit transactions are switched off and SQLAlchemy
    emits BEGIN itself (the recipe from SQLAlchemy's SQLite documentation), so
    each transaction is one consistent snapshot. Writing requests begin with ``BEGIN IMMEDIATE``:
    taking the write lock first waits on the busy timeout, whereas upgrading a
    read transaction to a write fails at once when another writer got there
    first.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def includeme(config):
    """Wire the transaction manager, retries and ``request.dbsession``."""
    settings = config.get_settings()
    # An explicit manager per request: no thread-local transaction state.
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # Abort on 4xx/5xx responses too, not only on exceptions.
    settings["tm.commit_veto"] = commit_veto
    # Reading the user during commit has caused DetachedInstanceErrors.
    settings["tm.annotate_user"] = False
    settings.setdefault("retry.attempts", 3)
    settings["retry.activate_hook"] = retry_attempts

    config.include("pyramid_tm")
    config.include("pyramid_retry")

    budgets, via = db_timeouts.timeout_settings(settings)
    config.registry["db_request_timeout"] = budgets["request_timeout"]
    engine = get_request_engine(settings, budgets, via)
    config.registry.setdefault("engines", []).append(engine)
    config.registry["dbsession_factory"] = get_session_factory(engine)
    config.registry["dbsession_write_bind"] = engine.execution_options(
        sqlite_begin="IMMEDIATE"
    )
    # The factory's own engine until myapp.replication chooses per request.
    config.registry["dbsession_read_bind"] = lambda request: None
    config.add_request_method(request_dbsession, "dbsession", reify=True)
