"""Every engine of the application, built by one factory that applies every policy.

An engine is a connection pool. The application has three roles for one:

=========  ==========================================  ================================
role       used by                                     time budgets (myapp.db.budgets)
=========  ==========================================  ================================
primary    requests (``request.dbsession``)            the request's
replica    safe-method requests (myapp.db.replication)  the request's
script     migrations, ``initialize_myapp_db``, tests   none: a long statement is fine
=========  ==========================================  ================================

``build_engine`` makes each of them and applies, here and nowhere else:

- SQLite: foreign keys, WAL, a busy timeout, and BEGIN emitted by SQLAlchemy
  (``BEGIN IMMEDIATE`` for writing requests; see ``_configure_sqlite``);
- PostgreSQL (psycopg 3): fewer round trips (myapp.db.round_trips);
  the time budgets, for every role but scripts; behind PgBouncer in
  transaction mode, no prepared statements, for every role (myapp.db.pgbouncer);
- pool metrics for the request pools (primary, replicas), unless
  ``myapp.observability = false``.

So no engine depends on the order in which parts of the app are included to
get its policies. ``build_engines`` makes the app's engines once, at start-up;
``registry["engines"]`` (an ``Engines``) is the one place they are kept.
"""

import dataclasses

from sqlalchemy import engine_from_config, event
from sqlalchemy.engine import make_url

from ..observability.metrics import watch_pool
from ..settings import Settings
from . import pgbouncer, round_trips
from .budgets import Budgets, configure_postgresql

ROLES = ("primary", "replica", "script")


class Engines:
    """The app's engines: ``primary`` and ``replicas`` (name → engine).

    Iterating gives every one of them (to dispose of them all, e.g. after a fork).
    """

    def __init__(self, primary, replicas):
        self.primary = primary
        self.replicas = replicas

    def __iter__(self):
        yield self.primary
        yield from self.replicas.values()


def build_engines(raw, settings):
    """Every engine the app's requests use: ``raw`` is the ini mapping (its
    ``sqlalchemy.*`` keys go to SQLAlchemy), ``settings`` the typed Settings."""
    replicas = {
        replica_name(url): build_engine(raw, settings, "replica", url=url)
        for url in settings.replica_urls
    }
    return Engines(
        primary=build_engine(raw, settings, "primary"),
        replicas=replicas,
    )


def get_engine(raw, prefix="sqlalchemy."):
    """A script's Engine (and pool) described by the ``sqlalchemy.*`` settings.

    The cookiecutter's name: for migrations, scripts and tests, with no time
    budget (a long statement is legitimate there). Only the settings an
    engine needs are read (a script has no JWT secret, for one).
    """
    return build_engine(raw, _engine_settings(raw), "script", prefix=prefix)


def build_engine(raw, settings, role, url=None, prefix="sqlalchemy."):
    """An engine for ``role`` (see the module's docstring), every policy applied."""
    if role not in ROLES:
        raise ValueError(f"no engine role {role!r}: one of {ROLES}")
    options = dict(raw)
    if url is not None:
        options[prefix + "url"] = url
    # engine_from_config passes this one on as given: "false" would be true.
    options[prefix + "pool_pre_ping"] = settings.pool_pre_ping
    engine = engine_from_config(options, prefix)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms=round(settings.sqlite_busy_timeout * 1000))
    elif engine.dialect.driver == "psycopg":
        round_trips.install(engine)  # a socket check instead of a ping per checkout
        if role != "script":
            budgets = Budgets.from_settings(settings)
            configure_postgresql(engine, budgets)
        if settings.db_behind_pgbouncer:
            pgbouncer.without_prepared_statements(engine)
    if role in ("primary", "replica") and settings.observability:
        watch_pool(engine, "primary" if role == "primary" else replica_name(options[prefix + "url"]))
    return engine


#: What an engine reads from the settings, for a script that has only some of them.
ENGINE_SETTINGS = ("pool_pre_ping", "sqlite_busy_timeout", "db_behind_pgbouncer")


def _engine_settings(raw):
    """The Settings an engine needs, parsed from ``raw`` by the settings table."""
    values = {}
    for field in dataclasses.fields(Settings):
        value = raw.get(field.metadata["key"])
        if field.name in ENGINE_SETTINGS and value not in (None, ""):
            values[field.name] = field.metadata["parse"](value)
    return _EngineSettings(**values)


@dataclasses.dataclass(frozen=True)
class _EngineSettings:
    pool_pre_ping: bool = Settings.pool_pre_ping
    sqlite_busy_timeout: float = Settings.sqlite_busy_timeout
    db_behind_pgbouncer: bool = Settings.db_behind_pgbouncer
    observability: bool = False  # a script's pool is nobody's metric


def replica_name(url):
    """``host:port`` of a replica URL: its label in logs and metrics (no password)."""
    url = make_url(url)
    return f"{url.host}:{url.port or 5432}"


def _configure_sqlite(engine, busy_timeout_ms):
    """Make an SQLite file behave under a threaded server.

    Foreign keys on; WAL so readers never block the writer; a busy timeout so
    a writer waits for the lock (up to ``myapp.sqlite.busy_timeout``) instead
    of failing at once; after that, "database is locked" answers 503 and is
    not replayed (another wait as long would break the request's budget).
    pysqlite's own implicit transactions are switched off and SQLAlchemy
    emits BEGIN itself (the recipe from SQLAlchemy's SQLite documentation), so
    each transaction is one consistent snapshot. Writing requests begin with
    ``BEGIN IMMEDIATE``: taking the write lock first waits on the busy
    timeout, whereas upgrading a read transaction to a write fails at once
    when another writer got there first.
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
