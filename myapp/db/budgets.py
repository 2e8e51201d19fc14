"""A time budget on every PostgreSQL wait, so a hung database cannot hang a request.

Two layers, because a database can be slow in two ways:

- **The server is slow but alive** (a long query, a held lock, a client that
  left its transaction idle): PostgreSQL's own timeouts end the wait and the
  connection stays usable. ``statement_timeout`` and ``lock_timeout`` raise
  ``QueryCanceled`` / ``LockNotAvailable`` (OperationalErrors: JSON 503 with
  Retry-After, myapp.edge.errors), the transaction is rolled back, and the
  connection goes back to the pool clean. ``idle_in_transaction_session_timeout``
  is the safety net for a transaction its thread stopped driving, and
  ``client_connection_check_interval`` ends a statement whose client is gone.
- **The request's own deadline passes** (``myapp.db.request_timeout``, for
  all of a request's database waits together). Nothing runs per wait: while a
  request holds a connection, the connection is *armed* with the request's
  deadline (two dictionary operations per checkout), and one watchdog
  thread per process (myapp.db.watchdog) looks at them a few times a second. A
  connection past its deadline with a statement still running gets that
  statement cancelled on the server (psycopg's ``cancel_safe``): the waiting
  thread receives ``QueryCanceled`` (503), the transaction rolls back and the
  connection stays in the pool; nothing is left running on the server.
  If the server does not even take the cancel within ``CANCEL_GRACE`` (its
  host hung, a network black hole), the connection's socket is shut down: the
  waiting thread gets a disconnect, and that one connection, and only that
  one, is discarded (``handle_error``: a disconnect does not recycle the
  whole pool; the pooled connections the server really ended are found at
  checkout, myapp.db.round_trips). ``connect_timeout`` bounds connecting.

A request's deadline is set once, by ``request_deadline_tween`` when the first
attempt starts (myapp.edge places it over pyramid_tm), so replays
(pyramid_retry) share it. Budget overruns are not retryable: a statement or lock
timeout is not one of zope.sqlalchemy's transient errors (SQLSTATE class 40),
and replaying a wait that used its whole budget would only use it again.

How the server-side timeouts reach PostgreSQL (``myapp.db.timeouts_via``):

- ``startup`` (default without PgBouncer): the libpq ``options`` startup
  parameter (``-c statement_timeout=...``), set once per connection, free per
  request.
- ``transaction`` (default with ``myapp.db_behind_pgbouncer``): one
  ``SELECT set_config(..., true)`` at the start of each transaction (``SET
  LOCAL``). For PgBouncer in transaction mode, which rejects the ``options``
  startup parameter and would leak session-level SETs between clients; it costs
  one statement per transaction. (Alternatively keep ``startup`` off and set the
  timeouts on the database role: ``ALTER ROLE myapp SET statement_timeout =
  '5s'``; see docs/operations.md.)
"""

import contextvars
import dataclasses
import math
import os
import time

import psycopg
from sqlalchemy import event

from .watchdog import WATCHDOG

#: The request's deadline (``time.monotonic()`` seconds), or None outside requests.
_deadline = contextvars.ContextVar("myapp_db_deadline", default=None)

#: Where the first attempt stores the deadline, so replays keep it.
DEADLINE_ENVIRON_KEY = "myapp.db_deadline"

#: Milliseconds between PostgreSQL's checks that a running statement's client
#: is still connected (PostgreSQL 14+): a statement whose client left ends soon.
CLIENT_CONNECTION_CHECK_MS = 1000


@dataclasses.dataclass(frozen=True)
class Budgets:
    """Seconds each wait may take, and how the server-side ones reach PostgreSQL."""

    connect_timeout: float
    statement_timeout: float
    lock_timeout: float
    idle_in_transaction_timeout: float
    request_timeout: float
    via: str  # "startup" or "transaction"

    @classmethod
    def from_settings(cls, settings):
        """From the typed settings (myapp.settings.Settings)."""
        via = settings.db_timeouts_via or (
            "transaction" if settings.db_behind_pgbouncer else "startup"
        )
        return cls(
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
            lock_timeout=settings.db_lock_timeout,
            idle_in_transaction_timeout=settings.db_idle_in_transaction_timeout,
            request_timeout=settings.db_request_timeout,
            via=via,
        )

    def server_settings(self):
        """PostgreSQL's setting name → value, for every server-side budget."""
        return {
            "statement_timeout": _milliseconds(self.statement_timeout),
            "lock_timeout": _milliseconds(self.lock_timeout),
            "idle_in_transaction_session_timeout": _milliseconds(self.idle_in_transaction_timeout),
            "client_connection_check_interval": str(CLIENT_CONNECTION_CHECK_MS),
        }


def _milliseconds(seconds):
    return str(max(1, round(seconds * 1000)))


def configure_postgresql(engine, budgets, watchdog=WATCHDOG):
    """Apply ``budgets`` (a Budgets) to every connection of ``engine`` (psycopg)."""
    server_settings = budgets.server_settings()

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        # libpq takes whole seconds, at least 2; a URL's own value wins. Within
        # a request, connecting also stops at the request's deadline (+ < 2 s).
        connect_timeout = budgets.connect_timeout
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
        if budgets.via == "startup":
            options = " ".join(f"-c {name}={value}" for name, value in server_settings.items())
            cparams["options"] = f"{cparams.get('options', '')} {options}".strip()
        return None  # the dialect connects, with these parameters

    @event.listens_for(engine, "checkout")
    def _arm(dbapi_connection, connection_record, connection_proxy):
        # Armed until checkin, so the rollback when the session closes (after
        # the request's tweens returned) is bounded by the request's deadline
        # too; and by this engine's own budget (readiness has a shorter one),
        # which is all there is outside a request (a replica's check).
        deadline = time.monotonic() + budgets.request_timeout
        request_deadline = _deadline.get()
        if request_deadline is not None and request_deadline < deadline:
            deadline = request_deadline
        watchdog.arm(dbapi_connection, deadline)

    @event.listens_for(engine, "checkin")
    def _disarm(dbapi_connection, connection_record):
        if dbapi_connection is not None:
            watchdog.disarm(dbapi_connection)

    @event.listens_for(engine, "invalidate")
    def _disarm_discarded(dbapi_connection, connection_record, exception):
        # A connection discarded while checked out (a disconnect, a failed
        # check at checkout) reaches checkin without its DBAPI connection:
        # disarm it here, before the pool closes it.
        if dbapi_connection is not None:
            watchdog.disarm(dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def _discard_only_this_connection(context):
        # SQLAlchemy's default after a disconnect is to recycle every pooled
        # connection. A deadline overrun (the socket shut down by the watchdog) says
        # nothing about the others, and a connection the server really ended
        # is found at checkout: only this one goes.
        if context.is_disconnect:
            context.invalidate_pool_on_disconnect = False

    if budgets.via == "transaction":
        set_locally = "SELECT " + ", ".join(
            f"set_config('{name}', '{value}', true)" for name, value in server_settings.items()
        )

        @event.listens_for(engine, "begin")
        def _set_local_timeouts(connection):
            connection.exec_driver_sql(set_locally)


def request_deadline_tween_factory(handler, registry):
    """Give each request (all its attempts together) ``myapp.db.request_timeout``."""
    budget = registry.app_settings.db_request_timeout

    def request_deadline_tween(request):
        deadline = request.environ.setdefault(DEADLINE_ENVIRON_KEY, time.monotonic() + budget)
        token = _deadline.set(deadline)
        try:
            return handler(request)
        finally:
            _deadline.reset(token)

    return request_deadline_tween
