"""A pooled PostgreSQL connection is checked at checkout without a round trip.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` each time a request takes
a connection from the pool: one more round trip on every request, a
fifth of the time of a small read (``make bench``). The ping exists for a
connection the server ended while it sat in the pool (a restart, a
terminated backend, an idle timeout): the server then writes its FATAL
message and closes the socket, so the socket turns readable. An idle,
healthy connection has nothing to read. So the check polls the socket
(microseconds) and only when something is there asks the server for real;
a connection that fails that is discarded and the pool hands out another,
as with ``pool_pre_ping``.

What it cannot see, as the ping could not see without waiting for a
timeout: a peer that vanished without closing (a cut network). The first
statement then fails, the error answers 503 and the pool drops its
connections.
"""

import select

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError


def install(engine):
    """Check every connection ``engine``'s pool hands out, as described above."""
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
