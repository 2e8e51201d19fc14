"""One read replica: is it up, how far behind is it, how far has it replayed.

Requests never ask a replica how it is: they read the last answer. A thread
of each process (``watch``, started when the server process starts serving,
myapp.db.process_started, or else on the first read) asks each replica every
``check_interval`` seconds, so a replica that
does not answer at all (a black hole: up to ``connect_timeout`` per check)
delays nothing but its own next check. A replica that did not answer is
"down" until a check gets an answer; a replica that answers again is used
again from then on. Until its first answer a replica is not used.
"""

import logging
import os
import threading
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ...observability.metrics import REPLICA_LAG

log = logging.getLogger(__name__)

# Lag in seconds. A replica that has replayed everything it received from a
# streaming connection is not behind at all, however long ago the last
# commit was; otherwise the lag is the age of the last transaction replayed
# (an overestimate after an idle period, which errs towards the primary).
HEALTH_QUERY = text(
    """
    SELECT pg_is_in_recovery(),
           pg_last_wal_replay_lsn()::text,
           CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                     AND (SELECT status FROM pg_stat_wal_receiver) = 'streaming'
                THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
           END::float8
    """
)


def parse_lsn(value):
    """'16/B374D848' → an integer that orders WAL positions; None stays None."""
    if value is None:
        return None
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class Replica:
    """A replica's engine and its cached health."""

    def __init__(self, name, engine, read_bind, check_interval, max_lag):
        self.name = name
        self.engine = engine
        # Probes run outside any request transaction: one round trip each.
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.read_bind = read_bind
        self.check_interval = check_interval
        self.max_lag = max_lag
        self.checked_at = float("-inf")
        self.available = False
        self.replay_lsn = 0
        self.lag = None
        self.watcher = None  # this process' checking thread, once started
        self._starting = threading.Lock()
        os.register_at_fork(after_in_child=self._forget_parent)

    def current(self):
        """This replica's last known state (the checking thread keeps it current)."""
        if self.watcher is None:
            self.start()
        return self

    def start(self):
        """Start this process' checking thread (once; again in a forked child)."""
        with self._starting:
            if self.watcher is None:
                self.watcher = threading.Thread(
                    target=self.watch, name=f"myapp-replica-{self.name}", daemon=True
                )
                self.watcher.start()

    def _forget_parent(self):
        # A forked child has none of its parent's threads: it starts its own.
        self.watcher, self._starting = None, threading.Lock()

    def watch(self):
        """Check this replica every ``check_interval`` seconds, for ever."""
        while True:
            started = time.monotonic()
            try:
                self.check()
            except Exception:  # never let the watcher die
                log.exception("checking replica %s", self.name)
            time.sleep(max(0.0, self.check_interval - (time.monotonic() - started)))

    def check(self):
        """Ask the replica now (one round trip); mark it down when it does not answer."""
        try:
            with self.autocommit.connect() as connection:
                in_recovery, lsn, lag = connection.execute(HEALTH_QUERY).one()
        except SQLAlchemyError as exc:
            self.mark_down(exc)
            return self
        # A server that left recovery was promoted: it is no longer fed by the
        # primary, so its data is no replica of the primary's.
        was_available = self.available
        self.available = bool(in_recovery) and lsn is not None
        if self.available and not was_available:
            log.info("replica %s is available for reads", self.name)
        self.replay_lsn = parse_lsn(lsn) or 0
        self.lag = lag
        self.checked_at = time.monotonic()
        REPLICA_LAG.labels(self.name).set(lag if self.available else -1)
        return self

    def mark_down(self, reason):
        if self.available or self.checked_at == float("-inf"):
            log.warning("replica %s unavailable, reading from elsewhere: %s", self.name, reason)
        self.available = False
        self.checked_at = time.monotonic()
        REPLICA_LAG.labels(self.name).set(-1)
