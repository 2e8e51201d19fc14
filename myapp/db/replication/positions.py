"""Where each writer's last commit is in the primary's WAL, shared through Redis.

After a request commits a write, the primary's ``pg_current_wal_lsn()`` (at
or past that commit) is stored for each user the request wrote as, under
``<namespace>:rw:user:<id>``, kept as the maximum of what was recorded, for
``ttl`` seconds. Every app process and host reads the same key, so the
user's next read, wherever it lands, knows how far a replica must have
replayed to show that write.

Redis unreachable: reads for a signed-in user go to the primary (their
position is unknown), and the store is not asked again for ``retry_after``
seconds so that a dead Redis costs one timeout per second, not one per
request.
"""

import logging
import time

import redis

log = logging.getLogger(__name__)

# Keep the larger of the stored and the new position (two processes may
# record out of order). Positions are fixed-width hex, so string order is
# WAL order, with no float rounding in Lua.
KEEP_MAXIMUM = """
local current = redis.call('GET', KEYS[1])
if not current or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""


def encode_lsn(lsn):
    return f"{lsn:016x}"


class WritePositions:
    """Recorded WAL positions per user, in Redis."""

    def __init__(self, url, namespace, ttl, timeout=0.25, retry_after=1.0):
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.namespace = namespace
        self.ttl = int(ttl)
        self.retry_after = retry_after
        self.unavailable_until = 0.0
        self._keep_maximum = self.client.register_script(KEEP_MAXIMUM)

    def key(self, user_id):
        return f"{self.namespace}:rw:user:{user_id}"

    def required(self, user_id):
        """The WAL position a read for ``user_id`` needs (0: none); None when unknown."""
        if time.monotonic() < self.unavailable_until:
            return None
        try:
            value = self.client.get(self.key(user_id))
        except redis.RedisError as exc:
            self._failed("read", exc)
            return None
        return int(value, 16) if value else 0

    def record(self, user_ids, lsn):
        """Store ``lsn`` for each of ``user_ids`` (one round trip each, usually one user).

        False when Redis failed. (A pipeline would re-check the script's
        presence on every call: two round trips for the usual single user.)
        """
        try:
            for user_id in user_ids:
                self._keep_maximum(keys=[self.key(user_id)], args=[encode_lsn(lsn), self.ttl])
        except redis.RedisError as exc:
            self._failed("record", exc)
            return False
        return True

    def _failed(self, action, exc):
        self.unavailable_until = time.monotonic() + self.retry_after
        log.warning("cannot %s write positions in Redis, reading from the primary: %s", action, exc)
