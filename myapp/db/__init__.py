"""The request's database lifecycle: a brand-new Session for every request.

How a request uses the database, and the module of each step
-------------------------------------------------------------
1. **Engines** (``engines``). At start-up ``includeme`` builds every engine
   once, with one factory that applies every policy (SQLite pragmas, fewer
   round trips, time budgets, PgBouncer mode, pool metrics): the primary's,
   one per read replica, and readiness' own. They are kept in
   ``registry["engines"]``; scripts and migrations get theirs from
   ``get_engine``. One ``sessionmaker`` is kept in the registry.
2. **Session** (``sessions``). The first time a view touches
   ``request.dbsession``, a new Session is made from that factory and joined
   to the request's own transaction manager (``request.tm``) with
   zope.sqlalchemy. A safe-method request (GET, HEAD, OPTIONS) reads in a
   read-only transaction, on a replica when one is fit (``replication``);
   other methods use the primary. A request that never touches
   ``request.dbsession`` opens no session and no connection. Every wait on
   the database is bounded by the request's time budget (``budgets``).
3. **Commit or abort** (``transactions``). pyramid_tm (explicit manager)
   commits when the response is a success, and aborts when a view raised or
   the response is a 4xx/5xx (commit veto). A read-only transaction that did
   not fail ends with COMMIT on PostgreSQL whichever it was (``replication``):
   psycopg forgets its prepared statements on every ROLLBACK.
4. **Replay** (``transactions``). pyramid_retry replays the whole request,
   with a new request object and so a new session, when the failure was
   transient: a serialization failure, a deadlock, a unique-constraint race, a
   replica lost mid-request. A wait that used its whole time budget is not
   replayed: it would only wait again. A replayed attempt logs one INFO line;
   only the last attempt logs its error.
5. **Close** (``sessions``). A finished callback closes the session, handing
   its connection back to the pool, however the request ended (exception
   views included).

Why a new session per request: a Session is a cheap container for one unit of
work and one open transaction. Starting from an empty one means nothing of a
previous request (identity map, pending objects, a failed transaction) can
leak into the next, and ``expire_on_commit`` never matters because the
session is gone when the transaction is. Application code never calls
``commit()``: the transaction manager owns the outcome. Core writes
(``text()``, ``insert()``...) call ``mark_session_changed`` or the commit
would roll them back.
"""

from .engines import Engines, build_engines, get_engine
from .sessions import (
    get_session_factory,
    get_tm_session,
    mark_session_changed,
    request_dbsession,
)

__all__ = [
    "Engines", "get_engine", "get_session_factory", "get_tm_session",
    "includeme", "mark_session_changed", "process_started",
]


def process_started(registry):
    """In a server process about to serve requests (after a fork): its own database.

    A socket shared by two processes interleaves their protocol messages. The
    pools are still empty when the server forks (nothing connects at start-up),
    so this is a guarantee, not a repair: ``dispose(close=False)`` drops any
    inherited connection without closing the parent's socket, and the process
    opens its own on first use (SQLAlchemy's recipe for forked processes).
    Then this process' replica checks start, so that the first read already
    knows which replicas are fit.
    """
    for engine in registry["engines"]:
        engine.dispose(close=False)
    registry["read_router"].start()


def includeme(config):
    """Engines, sessions, transactions, time budgets and replication, in that order."""
    registry = config.registry
    config.include(".transactions")  # pyramid_tm, pyramid_retry, retry logging

    engines = build_engines(config.get_settings(), registry.app_settings)
    registry["engines"] = engines  # the one place every engine is kept
    registry["dbsession_factory"] = get_session_factory(engines.primary)
    registry["dbsession_write_bind"] = engines.primary.execution_options(
        sqlite_begin="IMMEDIATE"
    )
    config.add_request_method(request_dbsession, "dbsession", reify=True)
    config.include(".replication")  # registry["dbsession_read_bind"]
