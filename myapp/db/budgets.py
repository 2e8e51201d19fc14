"""A time budget on every PostgreSQL wait, so a hung database cannot hang a request.

Two layers, because a database can be slow in two ways:

- **The server is slow but alive** (a long query, a held lock, a client that
  left its transaction idle): PostgreSQL's own timeouts end the wait and the
  connection stays usable. ``statement_timeout`` and ``lock_timeout`` raise
  ``QueryCanceled`` / ``LockNotAvailable`` (OperationalErrors: JSON 503 with
  Retry-After, myapp.edge.errors), the transaction is rolled back, and the
  connection goes back to the pool clean. ``idle_in_transaction_session_timeout``
  is the safety net for a transaction its thread stopped driving.
- **The server does not answer at all** (its host hung, a network black hole):
  server-side timeouts never fire. ``connect_timeout`` bounds connecting, and
  every other wait (query, commit, rollback, pre-ping) is bounded on the client
  by ``DeadlineConnection``: at the request's deadline the connection is closed
  (it is in an unknown state) and SQLAlchemy discards it from the pool.

A request's deadline is set once, by ``request_deadline_tween`` when the first
attempt starts, so replays (pyramid_retry) share it: the whole request's
database time is bounded by ``myapp.db.request_timeout``, however many
attempts it takes. Budget overruns are not retryable: a statement or lock
timeout is not one of zope.sqlalchemy's transient errors (SQLSTATE class 40),
and replaying a wait that used its whole budget would only use it again.

How the server-side timeouts reach PostgreSQL (``myapp.db.timeouts_via``):

- ``startup`` (default without PgBouncer): the libpq ``options`` startup parameter
  (``-c statement_timeout=...``), set once per connection, free per request.
- ``transaction`` (default with ``myapp.db_behind_pgbouncer``): one ``SELECT set_config(..., true)`` at the start of each
  transaction (``SET LOCAL``). For PgBouncer in transaction mode, which rejects
  the ``options`` startup parameter and would leak session-level SETs between
  clients; it costs one statement per transaction. (Alternatively keep
  ``startup`` off and set the timeouts on the database role:
  ``ALTER ROLE myapp SET statement_timeout = '5s'``; see docs/operations.md.)
"""

import contextvars
import math
import os
import time

import psycopg
import psycopg.errors
from psycopg.connection import _WAIT_INTERVAL
from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool
from sqlalchemy import event

#: The request's deadline (``time.monotonic()`` seconds), or None outside requests.
_deadline = contextvars.ContextVar("myapp_db_deadline", default=None)

#: Where the first attempt stores the deadline, so replays keep it.
DEADLINE_ENVIRON_KEY = "myapp.db_deadline"

#: Defaults in seconds. Together they keep a request under 10 s end to end: its
#: database waits end by the deadline (request_timeout after it entered the app),
#: except a pool wait or a connection attempt begun before it, which may end up to
#: 2 s later (pool_timeout; libpq's minimum connect_timeout).
DEFAULTS = {
    "connect_timeout": 2,
    "statement_timeout": 5,
    "lock_timeout": 2,
    "idle_in_transaction_timeout": 10,
    "request_timeout": 7,
}
MECHANISMS = ("startup", "transaction")

SERVER_SETTINGS = {
    "statement_timeout": "statement_timeout",
    "lock_timeout": "lock_timeout",
    "idle_in_transaction_session_timeout": "idle_in_transaction_timeout",
}


def timeout_settings(settings, prefix="myapp.db."):
    """The budgets (seconds, floats) and the mechanism named by ``settings``."""
    budgets = {name: float(settings.get(prefix + name, default)) for name, default in DEFAULTS.items()}
    # PgBouncer in transaction mode refuses the startup parameter: SET LOCAL there.
    behind_pgbouncer = asbool(settings.get("myapp.db_behind_pgbouncer", False))
    via = settings.get(prefix + "timeouts_via") or ("transaction" if behind_pgbouncer else "startup")
    if via not in MECHANISMS:
        raise ConfigurationError(f"{prefix}timeouts_via must be one of {MECHANISMS}, not {via!r}")
    return budgets, via


def _milliseconds(seconds):
    return str(max(1, round(seconds * 1000)))


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait on the server ends in time.

    ``wait_timeout`` bounds each wait; ``deadline`` (armed while a request has
    the connection checked out) and the current request's deadline bound it
    further. When the time is up the server is presumed unreachable: the
    connection is closed, as psycopg itself does when a cancelled query does
    not end, and the error is an OperationalError on a closed connection, which
    SQLAlchemy treats as a disconnect (the pool discards the connection).
    """

    wait_timeout = None
    deadline = None

    # psycopg 3.3's signature; its ``timeout`` raises ``_WaitTimeout``, as documented there.
    def wait(self, gen, interval=_WAIT_INTERVAL, timeout=None):
        limits = [t for t in (timeout, self.wait_timeout) if t is not None]
        now = time.monotonic()
        for deadline in (self.deadline, _deadline.get()):
            if deadline is not None:
                limits.append(deadline - now)
        if not limits:
            return super().wait(gen, interval=interval)
        limit = min(limits)
        try:
            if limit <= 0:
                raise psycopg.errors._WaitTimeout("the request's database budget is spent")
            return super().wait(gen, interval=interval, timeout=limit)
        except psycopg.errors._WaitTimeout:
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not answer within {max(limit, 0):.1f} s"
            ) from None


def configure_postgresql(engine, budgets, via):
    """Apply ``budgets`` to every connection of ``engine`` (a psycopg engine)."""
    server_timeouts = {
        name: _milliseconds(budgets[key]) for name, key in SERVER_SETTINGS.items()
    }
    wait_timeout = budgets["request_timeout"]

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        # libpq takes whole seconds, at least 2; a URL's own value wins. Within
        # a request, connecting also stops at the request's deadline (+ < 2 s).
        connect_timeout = budgets["connect_timeout"]
        deadline = _deadline.get()
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise psycopg.OperationalError("the request's database budget is spent")
            connect_timeout = min(connect_timeout, remaining)
        cparams.setdefault("connect_timeout", max(2, math.ceil(connect_timeout)))
        # Which process holds a connection, for pg_stat_activity (and the tests
        # that check no connection is shared by two server processes).
        cparams.setdefault("application_name", f"myapp pid {os.getpid()}")
        if via == "startup":
            options = " ".join(f"-c {name}={value}" for name, value in server_timeouts.items())
            cparams["options"] = f"{cparams.get('options', '')} {options}".strip()
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.wait_timeout = wait_timeout
        return connection

    @event.listens_for(engine, "checkout")
    def _arm(dbapi_connection, connection_record, connection_proxy):
        # Held until checkin, so the rollback when the session closes (after
        # the request's tweens returned) is bounded by the request's deadline too.
        dbapi_connection.deadline = _deadline.get()

    @event.listens_for(engine, "checkin")
    def _disarm(dbapi_connection, connection_record):
        if dbapi_connection is not None:
            dbapi_connection.deadline = None

    if via == "transaction":
        set_locally = "SELECT " + ", ".join(
            f"set_config('{name}', '{value}', true)" for name, value in server_timeouts.items()
        )

        @event.listens_for(engine, "begin")
        def _set_local_timeouts(connection):
            connection.exec_driver_sql(set_locally)


def request_deadline_tween_factory(handler, registry):
    """Give each request (all its attempts together) ``myapp.db.request_timeout``."""
    budget = registry["db_request_timeout"]

    def request_deadline_tween(request):
        deadline = request.environ.setdefault(DEADLINE_ENVIRON_KEY, time.monotonic() + budget)
        token = _deadline.set(deadline)
        try:
            return handler(request)
        finally:
            _deadline.reset(token)

    return request_deadline_tween


def includeme(config):
    """The budget of ``request_deadline_tween_factory`` (myapp.edge places that tween
    over pyramid_tm's, so that commit and abort are bounded too)."""
    limits, _via = timeout_settings(config.get_settings())
    config.registry["db_request_timeout"] = limits["request_timeout"]
