"""Which database a request reads from: read-only transactions, replicas, read-your-writes.

- ``GET``/``HEAD``/``OPTIONS`` run in a read-only transaction on PostgreSQL
  (psycopg's ``read_only``: its ``BEGIN`` becomes ``BEGIN READ ONLY``, no extra
  round trip). A view that writes under a safe method fails with a 500 and
  an error in the log instead of writing. One that did not fail ends with
  COMMIT, which keeps the connection's prepared statements (``_end_read_only``).
- With replicas (``myapp.replica_urls``), a safe-method request reads from a
  replica that is up, within ``myapp.replica_max_lag_seconds``, and has
  replayed past the requesting user's last write; otherwise from another
  replica or the primary. Every other method uses the primary for the whole
  request, so everything after a write in a request sees it.
- Read-your-writes across processes and hosts (the GitLab scheme): after a
  request commits on the primary, the primary's ``pg_current_wal_lsn()`` is
  recorded in Redis for the user who wrote (myapp.db.replication.positions); a
  later read for that user uses a replica only when the replica's
  ``pg_last_wal_replay_lsn()`` has reached it.
- A replica that fails in the middle of a request is marked down and the
  request is replayed (pyramid_retry), so the client sees no error.

Cost on the hot path with replicas: a read with a token asks Redis once
(about 0.1 ms on the same host); anonymous reads ask nothing. No request
asks a replica how it is: a thread of each process checks each replica once
per ``myapp.replica_check_interval_seconds`` (myapp.db.replication.replicas),
and a read whose user's recorded position is past a replica's last answer
reads elsewhere (for about one interval after a write, usually the primary).
A committed write asks the primary for its WAL position and stores it in
Redis: two round trips after the commit. Without replicas none of this runs.
"""

import itertools
import logging

import psycopg
import pyramid_retry
from sqlalchemy import event, text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from ...observability.metrics import REPLICA_FALLBACKS
from ...methods import SAFE_METHODS
from .positions import WritePositions
from .replicas import Replica, parse_lsn

log = logging.getLogger(__name__)

PRIMARY = "primary"
CURRENT_WAL_LSN = text("SELECT pg_current_wal_lsn()::text")


class ReadRouter:
    """Picks the engine of a safe-method request; records the writes of the others."""

    def __init__(self, primary, replicas, positions):
        self.primary = primary
        self.primary_read = read_only(primary)
        self.primary_autocommit = primary.execution_options(isolation_level="AUTOCOMMIT")
        self.replicas = replicas
        self.positions = positions
        self._rotation = itertools.count()

    def start(self):
        """Start checking the replicas from this process (see Replica.watch)."""
        for replica in self.replicas:
            replica.start()

    def read_bind(self, request):
        """The engine for a safe-method request; ``request.served_by`` names it."""
        request.served_by = PRIMARY
        if not self.replicas:
            return self.primary_read
        required = 0
        user_id = request.claimed_user_id
        if user_id is not None:
            required = self.positions.required(user_id)
            if required is None:  # Redis did not answer: the user's writes may be anywhere
                REPLICA_FALLBACKS.labels("all", "position_unknown").inc()
                return self.primary_read
        # Start from the next replica each time: the reads spread over all of them.
        start = next(self._rotation) % len(self.replicas)
        for replica in self.replicas[start:] + self.replicas[:start]:
            # The last check's answer, never a probe: a replica costs a request nothing.
            reason = self.unfit(replica.current(), required)
            if reason is None:
                request.served_by = replica.name
                return replica.read_bind
            REPLICA_FALLBACKS.labels(replica.name, reason).inc()
        return self.primary_read

    def unfit(self, replica, required):
        """Why ``replica`` cannot serve a read needing WAL position ``required``, or None."""
        if not replica.available:
            return "down"
        if replica.lag > replica.max_lag:
            return "lagging"
        if replica.replay_lsn < required:
            return "behind_client"
        return None

    def record_write(self, committed, request, dbsession):
        """After-commit hook: store the primary's WAL position for the users who wrote."""
        user_ids = set(dbsession.info.get(WRITERS_KEY, ()))
        if request.claimed_user_id is not None:
            user_ids.add(request.claimed_user_id)
        if not committed or not user_ids:
            return
        try:
            with self.primary_autocommit.connect() as connection:
                lsn = parse_lsn(connection.execute(CURRENT_WAL_LSN).scalar_one())
        except SQLAlchemyError as exc:
            log.warning("cannot read the primary's WAL position after a commit: %s", exc)
            return
        self.positions.record(sorted(user_ids), lsn)


def read_only(engine):
    """``engine`` beginning read-only transactions (PostgreSQL; SQLite has none),
    each ended by ``COMMIT`` unless it failed (``_end_read_only``)."""
    if engine.dialect.name != "postgresql":
        return engine
    reading = engine.execution_options(postgresql_readonly=True)
    event.listen(reading, "rollback", _end_read_only)
    return reading


def _end_read_only(connection):
    """End a read-only transaction with ``COMMIT`` when none of its statements failed.

    For a transaction that can write nothing, COMMIT and ROLLBACK do the same.
    But psycopg forgets every prepared statement of a connection on each
    ROLLBACK (``DEALLOCATE ALL``, lest a rolled-back DDL leave a stale one),
    and a read (zope.sqlalchemy closing an unchanged session) ends with one: a
    statement that runs once per request never reached psycopg's
    ``prepare_threshold``, so PostgreSQL planned the hot reads on every
    request, most of its CPU time for one article (bench/README.md). After
    this COMMIT the ROLLBACK that SQLAlchemy sends next finds no transaction
    and sends nothing. A failed transaction (a statement's error, a cancel)
    is rolled back as before.
    """
    if connection.closed or connection.invalidated:
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        return
    try:
        dbapi_connection.commit()
    except psycopg.Error:
        pass  # the rollback that follows meets the same error and handles it as before


def make_replica(settings, name, engine):
    """A Replica of ``engine`` (built by myapp.db.engines with the primary's settings)."""
    replica = Replica(
        name,
        engine,
        read_only(engine),
        check_interval=settings.replica_check_interval_seconds,
        max_lag=settings.replica_max_lag_seconds,
    )

    @event.listens_for(engine, "handle_error")
    def _replica_failed(context):
        # Down, restarting or unreachable: read elsewhere, and replay this
        # request (read-only, so replaying is safe) on the next choice.
        lost = context.connection is None or context.is_disconnect
        if lost and isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)):
            replica.mark_down(context.original_exception)
            pyramid_retry.mark_error_retryable(context.sqlalchemy_exception)

    return replica


#: ``dbsession.info`` key: the ids of the users a request's flushes wrote as.
WRITERS_KEY = "written_user_ids"


def note_writer(dbsession: Session, user_id: int) -> None:
    """Record that ``dbsession``'s request wrote as user ``user_id``.

    The domain package that owns the users calls it for every user row it
    creates or changes (myapp.users.models): a registration writes as its new
    user, who has no token yet, so ``request.claimed_user_id`` cannot say it.
    After the commit the user's reads wait for a replica that has that write
    (``ReadRouter.record_write``). Offered here rather than reading the users'
    model from myapp.db: imports flow from the domain down to the database.
    """
    dbsession.info.setdefault(WRITERS_KEY, set()).add(user_id)


def includeme(config):
    """``registry["dbsession_read_bind"]`` for myapp.db, on the replicas' engines."""
    registry = config.registry
    settings = registry.app_settings
    factory = registry["dbsession_factory"]
    engines = registry["engines"]
    replicas = [make_replica(settings, name, engine) for name, engine in engines.replicas.items()]
    positions = None
    if replicas:
        positions = WritePositions(
            settings.write_positions_redis_url,
            namespace=settings.write_positions_namespace,
            # Past the lag bound every usable replica has the write anyway.
            ttl=settings.write_positions_ttl_seconds
            or max(60, 2 * settings.replica_max_lag_seconds),
        )
    router = ReadRouter(engines.primary, replicas, positions)
    registry["read_router"] = router
    registry["dbsession_read_bind"] = router.read_bind
    if replicas:
        _track_writes(factory, router)


def _track_writes(factory, router):
    @event.listens_for(factory, "after_begin")
    def _record_after_commit(dbsession, transaction, connection):
        request = dbsession.info.get("request")
        if request is None or request.method in SAFE_METHODS or dbsession.info.get("tracked"):
            return
        dbsession.info["tracked"] = True
        request.tm.get().addAfterCommitHook(router.record_write, args=(request, dbsession))
