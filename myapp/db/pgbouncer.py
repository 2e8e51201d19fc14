"""Running behind PgBouncer in transaction pooling mode (``myapp.db_behind_pgbouncer``).

In transaction mode each transaction may run on a different server
connection, so nothing may outlive a transaction on the server side:

- psycopg's server-side prepared statements (``prepare_threshold``) are
  named statements kept by one server connection; the next transaction may
  not find them ("prepared statement does not exist"). Debian 12's
  PgBouncer (1.18) cannot track them (``max_prepared_statements`` came in
  1.21), so with this setting every connection the application opens
  (every engine myapp.db.engines builds) is made with
  ``prepare_threshold=None`` whatever another setting asked for.
- Session-level ``SET``s would leak to other clients' transactions or be
  lost. The application makes none: read-only transactions are
  ``BEGIN READ ONLY`` and isolation comes with each ``BEGIN``.
- libpq's startup ``options`` parameter (e.g. ``-c statement_timeout=...``)
  is refused by PgBouncer unless its ``ignore_startup_parameters`` lists
  ``options``, and then it is ignored: with this setting the time budgets are
  set per transaction instead (``SET LOCAL``, myapp.db.budgets), or set them
  on the database role (``ALTER ROLE myapp SET statement_timeout = '5s'``).
"""

from sqlalchemy import event


def without_prepared_statements(engine):
    """Make every new connection of ``engine`` send its statements unprepared."""

    @event.listens_for(engine, "connect")
    def _no_prepared_statements(dbapi_connection, connection_record):
        # Set on the open connection, so it wins over any connect argument.
        dbapi_connection.prepare_threshold = None

