"""One read replica: is it up, how far behind is it, how far has it replayed.

The answer is cached per process for ``check_interval`` seconds, so a busy
process asks each replica about once a second rather than on every request.
Only one thread asks at a time; the others use the last answer meanwhile.
A replica that did not answer is "down" until the next check; a replica that
answers again is used again from then on.
"""

import logging
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
        self._checking = threading.Lock()

    def current(self):
        """This replica's state, checked again when the last check is too old."""
        if time.monotonic() - self.checked_at >= self.check_interval:
            if self._checking.acquire(blocking=False):
                try:
                    self.check()
                finally:
                    self._checking.release()
        return self

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
