"""Fewer round trips to PostgreSQL on every request.

A small read spends most of its time waiting for the database, once per
round trip, so this module takes away the two that carry no query
(``make bench`` measured them larger than the query's own wait):

1. **No ping per checkout.** SQLAlchemy's ``pool_pre_ping`` sends an empty
   query each time a request takes a pooled connection. The ping exists for
   a connection the server ended while it sat in the pool (a restart, a
   terminated backend, an idle timeout); the server then writes its FATAL
   message and closes the socket, so the socket turns readable, whereas an
   idle healthy connection has nothing to read. The check polls the socket
   (microseconds) and only when something is there asks the server for real;
   a connection that fails is discarded and the pool hands out another, as
   with ``pool_pre_ping``. What it cannot see (neither could the ping
   without a timeout) is a peer gone silently (a cut network): the first
   statement then fails, answers 503, and the pool drops its connections.

2. **BEGIN travels with the first statement.** psycopg sends ``BEGIN`` and
   waits for its answer before the first statement of a transaction. That
   statement is sent in pipeline mode instead, so ``BEGIN`` and it go out
   together and come back together: one round trip. Same transaction, same
   statement, same errors (raised when the pipeline syncs, inside
   SQLAlchemy's error handling).
"""

import select

from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError


def install(engine):
    """Both, on a PostgreSQL (psycopg 3) ``engine``."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _check_at_checkout(dbapi_connection, connection_record, connection_proxy):
        poller = select.poll()
        try:
            poller.register(dbapi_connection.fileno(), select.POLLIN)
        except (OSError, ValueError) as exc:  # closed already
            raise DisconnectionError(str(exc)) from exc
        if not poller.poll(0):
            return  # nothing to read: the usual case
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection ended by the server: {exc}") from exc

    @event.listens_for(engine, "do_execute")
    def _begin_with_first_statement(cursor, statement, parameters, context):
        connection = cursor.connection
        if connection.autocommit or connection.info.transaction_status != TransactionStatus.IDLE:
            return None  # in a transaction already: SQLAlchemy executes as usual
        with connection.pipeline():
            cursor.execute(statement, parameters)
        return True
