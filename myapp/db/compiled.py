"""Hot statements compiled once per process and run on the session's DBAPI cursor.

``Session.execute`` pays, on every call, for work whose answer never changes
for a statement built once: the statement's cache key, the ORM's execute
events and context, the execution context, and a result object built from the
cursor's description. For the hot reads (a page of articles, one article, its
comments, the tags) that was about as much CPU as everything else the view
did (``make profile``; an in-process measurement of the list's statement:
about 370 against 200 µs of CPU per execute).

A ``Compiled`` holds a Core statement and, per dialect, what running it needs,
computed on first use: the SQL string, the parameters that have a value of
their own, each parameter's and column's type processing (none on
PostgreSQL for these statements; SQLite's timestamps and JSON need theirs),
and a row class (a named tuple of the statement's column keys, read as
SQLAlchemy's rows are: ``row.slug``). ``run`` then takes the session's own
connection, so the transaction is the Session's (begun, joined to the
request's transaction manager by zope.sqlalchemy, on the replica or the
primary the session is bound to) and executes with
``Connection._cursor_execute``: SQLAlchemy's own path for a statement on a
given cursor, which fires ``before_cursor_execute``/``after_cursor_execute``
(the access log's statement count and time, the tests' statement counter) and
turns a DBAPI error into SQLAlchemy's, through the ``handle_error`` listeners
(a replica lost, a disconnect, pyramid_retry's tagging). The time budgets
need nothing here: they arm the connection at checkout (myapp.db.budgets).

Only for statements with no per-request shape: no expanding ``IN`` lists, no
parameters rendered into the SQL; ``Compiled`` refuses others when it
compiles them.
"""

import collections


class Compiled:
    """A Core select (or a DML with RETURNING) ready to run per dialect: ``statement`` is
    the statement, or a function of the dialect's name that builds it (where the SQL
    differs by database)."""

    def __init__(self, statement):
        self.build = statement if callable(statement) else lambda dialect_name: statement
        self._prepared = {}

    def prepared(self, dialect):
        """The ``Prepared`` form for ``dialect`` (compiled on first use; a race compiles twice)."""
        key = (dialect.name, dialect.driver)
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = Prepared(self.build(dialect.name), dialect)
        return found

    def rows(self, dbsession, params):
        """Every row, as named tuples."""
        connection = dbsession.connection()
        prepared = self.prepared(connection.dialect)
        return prepared.make_rows(_fetch(connection, prepared.sql, prepared.parameters(params)))

    def first(self, dbsession, params):
        """The first row, or None."""
        rows = self.rows(dbsession, params)
        return rows[0] if rows else None

    def scalars(self, dbsession, params):
        """The first column of every row."""
        return [row[0] for row in self.rows(dbsession, params)]


def _fetch(connection, sql, parameters):
    """Execute on a cursor of ``connection``'s DBAPI connection: its events and error handling
    are SQLAlchemy's (see the module's docstring); all rows as tuples."""
    cursor = connection.connection.cursor()
    try:
        connection._cursor_execute(cursor, sql, parameters)
        return cursor.fetchall()
    finally:
        cursor.close()


class Prepared:
    """What running a statement on one dialect takes, worked out once."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        binds = list(compiled.bind_names.items())  # BindParameter -> its name in the SQL
        if any(bind.expanding or bind.literal_execute for bind, _ in binds):
            raise ValueError("Compiled takes statements without expanding or literal parameters")
        if getattr(compiled, "escaped_bind_names", None):
            raise ValueError(f"parameter names that need escaping: {compiled.escaped_bind_names}")
        self.sql = compiled.string
        self.defaults = {
            name: bind.effective_value for bind, name in binds if not bind.required
        }
        self.processors = {
            name: processor
            for bind, name in binds
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.positions = list(compiled.positiontup) if compiled.positional else None
        columns = _columns(statement)
        self.row_class = collections.namedtuple("Row", [key for key, _ in columns])
        results = [column_type.dialect_impl(dialect).result_processor(dialect, None)
                   for _, column_type in columns]
        self.result_processors = results if any(results) else None

    def parameters(self, params):
        values = dict(self.defaults)
        values.update(params)
        for name, processor in self.processors.items():
            values[name] = processor(values[name])
        if self.positions is not None:
            return tuple(values[name] for name in self.positions)
        return values

    def make_rows(self, fetched):
        make = self.row_class._make
        if self.result_processors is None:
            return [make(row) for row in fetched]
        processors = self.result_processors
        return [
            make([value if p is None else p(value) for p, value in zip(processors, row)])
            for row in fetched
        ]


def _columns(statement):
    """(key, type) of each column the statement returns."""
    return [(column.key, column.type) for column in statement.exported_columns]
