"""Every setting of the application, parsed and validated once, at start-up.

The ini file's ``[app:main]`` section is a flat mapping of strings. ``Settings``
turns it into one typed, frozen object, kept as ``registry.app_settings``;
every part of the application reads its settings from there, never from the
raw mapping with a default of its own. ``Settings`` below is the one table:
each setting's ini key, its default and the reason for that default
(docs/operations.md lists the same table; a test checks they agree).

A value that cannot work stops start-up with one sentence naming the setting
(``ConfigurationError``; ``myapp.main`` prints it without a traceback).

Values written ``env:NAME`` or ``env-optional:NAME`` are read from the
environment first (myapp.settings.environment); the parsers that turn each
string into its typed value are in myapp.settings.parsers.
"""

import dataclasses
from dataclasses import dataclass

from pyramid.exceptions import ConfigurationError

from .environment import resolve_settings
from .parsers import (
    flag, gc_thresholds, networks, one_of, positive_number, positive_whole_number, proxy_peers,
    secret, text, whole_number, words,
)

__all__ = ["REQUIRED", "Settings", "get_app_settings", "includeme", "markdown_table",
           "resolve_settings"]


REQUIRED = object()  # no default: start-up stops when the setting is missing


def setting(key, default, parse, reason):
    """One row of the table: a dataclass field that knows its ini key and reason."""
    return dataclasses.field(
        default=None if default is REQUIRED else default,
        metadata={"key": key, "parse": parse, "reason": reason, "required": default is REQUIRED},
    )


@dataclass(frozen=True)
class Settings:
    """The application's settings, typed. Build it with ``Settings.from_ini``."""

    # The database and its pool (sqlalchemy.* keys are passed on to SQLAlchemy as they are).
    database_url: str = setting(
        "sqlalchemy.url", REQUIRED, text,
        "The database: SQLite in development, PostgreSQL (psycopg 3) in production.")
    pool_size: int = setting(
        "sqlalchemy.pool_size", 5, whole_number,
        "Connections kept per process; fewer than the threads, so a thread is always free.")
    max_overflow: int = setting(
        "sqlalchemy.max_overflow", 10, whole_number,
        "Connections opened beyond pool_size under a burst, closed afterwards.")
    pool_timeout: float = setting(
        "sqlalchemy.pool_timeout", 30.0, positive_number,
        "Seconds a request waits for a pooled connection before answering 503.")
    pool_pre_ping: bool = setting(
        "sqlalchemy.pool_pre_ping", False, flag,
        "Off: the pooled connection's socket is looked at instead of a ping round trip.")
    retry_attempts: int = setting(
        "retry.attempts", 3, positive_whole_number,
        "pyramid_retry's attempts for a transient error (serialization failure, deadlock, "
        "unique-key race).")
    sqlite_busy_timeout: float = setting(
        "myapp.sqlite.busy_timeout", 5.0, positive_number,
        "Seconds a SQLite writer waits for the write lock before answering 503.")
    # Time budgets on every PostgreSQL wait.
    db_connect_timeout: float = setting(
        "myapp.db.connect_timeout", 2.0, positive_number,
        "Seconds to open a connection; libpq's minimum is 2.")
    db_statement_timeout: float = setting(
        "myapp.db.statement_timeout", 5.0, positive_number,
        "PostgreSQL's statement_timeout: no request statement runs longer.")
    db_lock_timeout: float = setting(
        "myapp.db.lock_timeout", 2.0, positive_number,
        "PostgreSQL's lock_timeout: a writer behind a held lock gives up and answers 503.")
    db_idle_in_transaction_timeout: float = setting(
        "myapp.db.idle_in_transaction_timeout", 10.0, positive_number,
        "PostgreSQL ends a transaction its thread stopped driving.")
    db_request_timeout: float = setting(
        "myapp.db.request_timeout", 7.0, positive_number,
        "A request's whole database time, replays included; with the pool wait it keeps "
        "every request under 10 s.")
    db_timeouts_via: str = setting(
        "myapp.db.timeouts_via", "", one_of("", "startup", "transaction"),
        "How the budgets reach PostgreSQL: startup options (default), or SET LOCAL per "
        "transaction (default behind PgBouncer).")
    db_behind_pgbouncer: bool = setting(
        "myapp.db_behind_pgbouncer", False, flag,
        "The URLs point at PgBouncer in transaction mode: no session SETs, no server-side "
        "prepared statements.")
    # Read replicas.
    replica_urls: tuple = setting(
        "myapp.replica_urls", (), words,
        "Read replicas, space separated; none by default.")
    replica_max_lag_seconds: float = setting(
        "myapp.replica_max_lag_seconds", 30.0, positive_number,
        "A replica further behind than this is not read from.")
    replica_check_interval_seconds: float = setting(
        "myapp.replica_check_interval_seconds", 1.0, positive_number,
        "How often each replica's health and lag are looked at.")
    write_positions_redis_url: str = setting(
        "myapp.write_positions_redis_url", "redis://127.0.0.1:6379/0", text,
        "Where every app host shares each writer's WAL position (read-your-writes).")
    write_positions_namespace: str = setting(
        "myapp.write_positions_namespace", "myapp", text,
        "Prefix of the Redis keys, so that several deployments can share one Redis.")
    write_positions_ttl_seconds: int = setting(
        "myapp.write_positions_ttl_seconds", 0, whole_number,
        "How long a write position is kept; 0: twice the lag bound, at least 60 s (past the "
        "bound every usable replica has the write anyway).")
    # The HTTP edge.
    max_busy_requests: int = setting(
        "myapp.max_busy_requests", 10, positive_whole_number,
        "Requests inside the application at once per process; the rest wait for a slot.")
    max_queued_requests: int = setting(
        "myapp.max_queued_requests", 0, whole_number,
        "Requests waiting for a slot per process; beyond them 503 at once (0: no queue).")
    queue_timeout: float = setting(
        "myapp.queue_timeout", 1.0, positive_number,
        "Seconds a request waits for a slot at most (503 after that): its share of the "
        "request's budget, beside the pool wait and the database time.")
    switch_interval: float = setting(
        "myapp.switch_interval", 0.005, positive_number,
        "Seconds a thread may hold the GIL while another waits for it (sys.setswitchinterval), "
        "set by production's gunicorn workers (myapp.server); Python's own default.")
    gc_freeze: bool = setting(
        "myapp.gc_freeze", True, flag,
        "Production's gunicorn workers freeze what start-up made (gc.freeze, myapp.server): "
        "a full collection, which stops every thread of the worker, then scans only what "
        "requests left (measured: about 11 ms of CPU instead of 65).")
    gc_threshold: tuple = setting(
        "myapp.gc_threshold", (700, 10, 10), gc_thresholds,
        "The collector's three thresholds (gc.set_threshold), set by production's gunicorn "
        "workers (myapp.server); Python's own.")
    trusted_proxies: tuple = setting(
        "myapp.trusted_proxies", (), proxy_peers,
        "Peers whose X-Forwarded-For is believed: networks, and `unix` for a unix-socket "
        "peer (nginx of make production); none by default, so the peer is the client.")
    trusted_proxy_hops: int = setting(
        "myapp.trusted_proxy_hops", 1, positive_whole_number,
        "Trusted proxies in a row before the application: the client address is the "
        "X-Forwarded-For entry this many places from the right.")
    forwarded_header: str = setting(
        "myapp.forwarded_header", "x-forwarded-for", one_of("x-forwarded-for", "forwarded"),
        "The one header a trusted proxy names the client in (nginx: X-Forwarded-For).")
    max_body_bytes: int = setting(
        "myapp.max_body_bytes", 1024 * 1024, positive_whole_number,
        "The largest request body; larger ones answer 413 unread.")
    cors_allowed_origins: tuple = setting(
        "myapp.cors_allowed_origins", (), words,
        "Browser origins allowed to call the API, space separated; * for any.")
    idempotency_key_lifetime: int = setting(
        "myapp.idempotency.key_lifetime", 24 * 3600, positive_whole_number,
        "Seconds an Idempotency-Key's stored answer is kept: a day covers any client's "
        "retries.")
    # Accounts.
    jwt_secret: str = setting(
        "myapp.jwt_secret", REQUIRED, secret,
        "Signs the tokens; from the environment in production.")
    jwt_expiry_seconds: int = setting(
        "myapp.jwt_expiry_seconds", 7 * 24 * 3600, positive_whole_number,
        "A token's lifetime: a week.")
    argon2_time_cost: int = setting(
        "myapp.argon2_time_cost", 2, positive_whole_number,
        "Argon2id iterations (OWASP's first recommendation: 2).")
    argon2_memory_kib: int = setting(
        "myapp.argon2_memory_kib", 19456, positive_whole_number,
        "Argon2id memory in KiB (OWASP: 19 MiB).")
    argon2_parallelism: int = setting(
        "myapp.argon2_parallelism", 1, positive_whole_number,
        "Argon2id lanes (OWASP: 1).")
    login_failures_per_account: int = setting(
        "myapp.login_failures_per_account", 10, positive_whole_number,
        "Failed logins for one account in the window before 429.")
    login_failures_per_address: int = setting(
        "myapp.login_failures_per_address", 100, positive_whole_number,
        "Failed logins from one client address in the window before 429.")
    login_throttle_window_seconds: int = setting(
        "myapp.login_throttle_window_seconds", 900, positive_whole_number,
        "The login throttle's window: 15 minutes.")
    # Observability.
    observability: bool = setting(
        "myapp.observability", True, flag,
        "The access log, Server-Timing, X-Request-ID and the request metrics.")
    metrics_allowed_networks: tuple = setting(
        "myapp.metrics_allowed_networks", networks("127.0.0.1/32 ::1/128"), networks,
        "Who may read GET /metrics: loopback only by default.")

    @classmethod
    def from_ini(cls, raw):
        """Parse the (env-resolved) ini mapping; unknown keys are left to their libraries."""
        values, problems = {}, []
        for field in dataclasses.fields(cls):
            meta = field.metadata
            value = raw.get(meta["key"])
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if meta["required"]:
                    problems.append(f"{meta['key']} is required")
                continue  # the default
            try:
                values[field.name] = meta["parse"](value)
            except (TypeError, ValueError) as exc:
                # A secret's value is never repeated, not even in an error.
                shown = "" if meta["parse"] is secret else f" = {value!r}"
                problems.append(f"{meta['key']}{shown}: {exc}")
        if problems:
            raise ConfigurationError("refusing to start: " + "; ".join(problems))
        return cls(**values)

    @classmethod
    def table(cls):
        """``(ini key, default, reason)`` for every setting: the one table, for the docs."""
        return [
            (
                field.metadata["key"],
                None if field.metadata["required"] else field.default,
                field.metadata["reason"],
            )
            for field in dataclasses.fields(cls)
        ]


def get_app_settings(registry):
    """The typed settings of the application that ``registry`` belongs to."""
    return registry.app_settings


def includeme(config):
    """Parse the settings once; the first include, so every other part can read them."""
    config.registry.app_settings = Settings.from_ini(config.get_settings())


def markdown_table():
    """The settings table of docs/operations.md, as a test checks it stands there."""

    def shown(default):
        if default is None:
            return "required"
        if isinstance(default, tuple):
            return "`" + " ".join(str(item) for item in default) + "`" if default else "none"
        return f"`{str(default).lower() if isinstance(default, bool) else default}`"

    rows = ["| setting | default | why |", "| --- | --- | --- |"]
    rows += [f"| `{key}` | {shown(default)} | {reason} |" for key, default, reason in Settings.table()]
    return "\n".join(rows) + "\n"
