"""One access-log line, Server-Timing, X-Request-ID and the request metrics, per request.

The execution policy (pyramid_retry's, wrapped) sees a request once,
however many times it is replayed, so each request gives one log line and
one observation, with the replays counted in them. A tween notes each
attempt's Pyramid request; the last one is the one that answered.

The access log is the ``myapp.access`` logger at INFO, one JSON object per
line (the ini files send it to its own handler)::

    {"time": "2026-11-21T11:30:00.123Z", "request_id": "0f3c…", "method": "GET",
     "route": "articles", "path": "/api/articles", "status": 200, "duration_ms": 4.1,
     "db_ms": 2.2, "sql": 4, "tx": "read-only", "retries": 0, "db": "127.0.0.1:5433",
     "user_id": 17, "client": "203.0.113.9"}

``tx`` is ``commit``, ``abort`` (pyramid_tm aborts on an exception or a
4xx/5xx), ``read-only`` (a safe method), or ``none`` (no database used);
``db`` is ``primary``, a replica's ``host:port``, or null; ``client`` is
``request.client_address`` (the peer, or its trusted proxy's client).
"""

import datetime
import logging
import time

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..methods import SAFE_METHODS
from . import metrics
from .context import RequestRecord, current_request, request_id_from

ACCESS_LOG = logging.getLogger("myapp.access")
MAX_LOGGED_PATH = 512


def observed(policy):
    """Wrap an execution policy: time, identify, log and measure each request."""

    def execution_policy(environ, router):
        record = RequestRecord(request_id_from(environ.get("HTTP_X_REQUEST_ID")))
        reset = current_request.set(record)
        try:
            try:
                response = policy(environ, router)
            except BaseException:
                finish(record, environ, None)  # the server answers 500
                raise
            finish(record, environ, response)
            return response
        finally:
            current_request.reset(reset)

    return execution_policy


def attempt_tween_factory(handler, registry):
    if not registry.app_settings.observability:
        return handler  # nothing notes attempts (myapp.observability)
    def note_attempt(request):
        record = current_request.get()
        if record is not None:
            record.request = request
            record.retries = request.environ.get("retry.attempt", 0)
        return handler(request)

    return note_attempt


def finish(record, environ, response):
    elapsed = time.perf_counter() - record.started
    status = response.status_int if response is not None else 500
    request = record.request
    route = getattr(request, "matched_route", None)
    route_name = route.name if route is not None else None
    used_db = request is not None and "dbsession" in request.__dict__
    if used_db and status != 503:
        metrics.note_database(True)  # a 503 noted False itself (myapp.edge.errors)
    method = environ.get("REQUEST_METHOD", "")
    if not used_db:
        outcome = "none"
    elif status >= 400:
        outcome = "abort"
    elif method in SAFE_METHODS:
        outcome = "read-only"
    else:
        outcome = "commit"
    database = getattr(request, "served_by", "primary") if used_db else None
    if response is not None:
        # Appended, not set: nothing else writes these two, and setting a header
        # through WebOb first scans every header already there.
        response.headerlist.extend((
            ("X-Request-ID", record.request_id),
            ("Server-Timing", f"db;dur={record.db_seconds * 1000:.1f}, "
                              f"app;dur={(elapsed - record.db_seconds) * 1000:.1f}"),
        ))

    kind = "none" if database is None else "primary" if database == "primary" else "replica"
    request_seconds, transactions = metrics.request_series(
        route_name or "none", status, outcome, kind
    )
    request_seconds.observe(elapsed)
    transactions.inc()
    if record.retries:
        metrics.RETRIES.inc()

    if ACCESS_LOG.isEnabledFor(logging.INFO):
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        user_id = request.claimed_user_id if request is not None else None
        client = request.client_address if request is not None else environ.get("REMOTE_ADDR")
        line = orjson.dumps(
            {
                "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "request_id": record.request_id,
                "method": method,
                "route": route_name,
                "path": path[:MAX_LOGGED_PATH],
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "db_ms": round(record.db_seconds * 1000, 2),
                "sql": record.statements,
                "tx": outcome,
                "retries": record.retries,
                "db": database,
                "user_id": user_id,
                "client": client,
            }
        ).decode()
        write_line(line)


def _direct_stream(logger):
    """The one stream ``logger``'s lines go to unchanged, or None when logging must do it.

    Production's configuration (production.ini: ``[logger_access]``, one
    StreamHandler formatting ``%(message)s``, not propagated, no filters)
    writes each line as it is: then the line is written here as the handler
    would, under its lock, without a LogRecord, a filter pass and a Formatter
    per request. Any other configuration (other handlers, a format, filters,
    propagation to the root's handlers as in the tests) keeps logging's path.
    """
    handlers = logger.handlers
    if logger.propagate or logger.filters or logger.disabled or len(handlers) != 1:
        return None
    handler = handlers[0]
    formatter = handler.formatter
    if (type(handler) is not logging.StreamHandler or handler.filters or handler.level > logging.INFO
            or type(formatter) is not logging.Formatter or formatter._fmt != "%(message)s"
            or type(formatter._style) is not logging.PercentStyle):
        return None
    return handler


def write_line(line):
    """Log ``line`` to the access log (INFO), by the shortest path its configuration allows."""
    handler = _direct_stream(ACCESS_LOG)
    if handler is None:
        # handle() a record made here: Logger.info would walk the stack to find
        # its caller, which the line does not print.
        ACCESS_LOG.handle(
            ACCESS_LOG.makeRecord(ACCESS_LOG.name, logging.INFO, __file__, 0, line, None, None)
        )
        return
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:  # as StreamHandler.emit: report, never fail the request
        handler.handleError(ACCESS_LOG.makeRecord(ACCESS_LOG.name, logging.INFO, __file__, 0, line,
                                                  None, None))
    finally:
        handler.release()


def _statement_started(conn, cursor, statement, parameters, context, executemany):
    if current_request.get() is not None:
        conn.info["myapp_statement_started"] = time.perf_counter()


def _statement_done(conn, cursor, statement, parameters, context, executemany):
    record = current_request.get()
    started = conn.info.pop("myapp_statement_started", None)
    if record is not None and started is not None:
        record.db_seconds += time.perf_counter() - started
        record.statements += 1


def time_statements():
    """Count and time the statements of every engine, for the request being served. Idempotent."""
    for name, listener in (
        ("before_cursor_execute", _statement_started),
        ("after_cursor_execute", _statement_done),
    ):
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)
