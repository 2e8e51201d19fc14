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
   failure or deadlock (zope.sqlalchemy knows those), a unique-constraint race
   (``IntegrityError``, below), or SQLite's "database is locked".
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

from . import round_trips, session_events

log = logging.getLogger(__name__)

#: Methods that do not write; every other method takes SQLite's write lock up front.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Two requests can both check that a username is free and both insert it; the
# loser's INSERT fails with an IntegrityError. Replaying the loser makes its
# check see the winner's row, so it answers a clean 409 instead of a 500.
# A deterministic IntegrityError (a bug) fails every attempt and surfaces once
# the attempts are used up.
pyramid_retry.mark_error_retryable(IntegrityError)


def get_engine(settings, prefix="sqlalchemy."):
    """The Engine (and its pool) described by the ``sqlalchemy.*`` settings."""
    settings = dict(settings)
    pre_ping = prefix + "pool_pre_ping"
    if pre_ping in settings:
        # engine_from_config passes this one on as given: "false" would be true.
        settings[pre_ping] = asbool(settings[pre_ping])
    engine = engine_from_config(settings, prefix)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.driver == "psycopg":
        round_trips.install(engine)  # no ping, BEGIN with the first statement
    return engine


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
    bind = None
    if request.method not in SAFE_METHODS:
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
    (myapp.validation), so it is not worth copying: one attempt, no copy.
    """
    limit = request.registry.get("max_body_bytes")
    if limit is not None and (request.content_length or 0) > limit:
        return 1
    return None  # the configured retry.attempts


def _configure_sqlite(engine):
    """Make an SQLite file behave under a threaded server.

    Foreign keys on; WAL so readers never block the writer; a busy timeout so
    a writer waits for the lock instead of failing. pysqlite's own implicit
    transactions are switched off and SQLAlchemy emits BEGIN itself (the
    recipe from SQLAlchemy's SQLite documentation), so each transaction is
    one consistent snapshot. Writing requests begin with ``BEGIN IMMEDIATE``:
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
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    @event.listens_for(engine, "handle_error")
    def _mark_lock_timeouts_retryable(context):
        if "database is locked" in str(context.original_exception):
            pyramid_retry.mark_error_retryable(context.sqlalchemy_exception)


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

    engine = get_engine(settings)
    config.registry["dbsession_factory"] = get_session_factory(engine)
    config.registry["dbsession_write_bind"] = engine.execution_options(
        sqlite_begin="IMMEDIATE"
    )
    config.add_request_method(request_dbsession, "dbsession", reify=True)
