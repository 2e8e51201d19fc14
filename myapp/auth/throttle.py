"""Login throttling: too many attempts for one account, or from one client
address, in a window answer 429 with ``Retry-After``.

Each attempt is counted *before* its password is checked, in a short
transaction of its own that commits at once (``reserve``):

- The request's own transaction cannot keep the count: a failed login answers
  401, and the commit veto aborts every 4xx (myapp.db).
- Counting first, with one atomic upsert per key, means N simultaneous
  guesses cannot all pass a "fewer than N failures?" check before any failure
  is written: at most the limit is ever verified per window.
- It runs before the request touches ``request.dbsession``: on SQLite a
  writing request's session holds the database's write lock from its first
  statement, and this second session would wait for it.

A successful login forgives its own attempt, inside the request's transaction
(``forgive``, committed with the 200): the account's row is deleted (its
counter resets) and the address's counter goes down by one, so the address
counts failures only and a busy NAT of honest users is not throttled.

Rows are bounded: the address limit is checked first and a blocked address
counts no account, so one address creates at most its limit of account rows
per window; expired rows are purged, a batch per attempt. A throttled attempt
costs three short statements at most and no password hash. The answer is the same
whether or not the account exists (the key is the email as sent, folded).

The client address is ``request.client_address`` (myapp.edge.client_address): the
peer, or what a trusted proxy says (``myapp.trusted_proxies``), never what a
client wrote in a header; behind make production's nginx each client has its
own count.

Settings (registry.app_settings; their defaults and reasons in myapp.settings):
``login_failures_per_account``, ``login_failures_per_address`` and
``login_throttle_window_seconds``.
"""

import time

from sqlalchemy import case, delete, update

from ..db import mark_session_changed
from ..db.statements import insert_for, purge_expired
from ..edge.errors import error
from .models import LoginAttempts

attempts_table = LoginAttempts.__table__


def account_key(account):
    return f"account:{account}"


def address_key(request):
    return f"address:{request.client_address or 'unknown'}"


class LoginThrottle:
    def __init__(self, session_factory, bind, per_account, per_address, window_seconds,
                 clock=time.time):
        self.session_factory = session_factory
        self.bind = bind
        self.limits = {"address": per_address, "account": per_account}
        self.window = window_seconds
        self.clock = clock

    def reserve(self, request, account):
        """Count this attempt for its address, then its account; 429 when either is over.

        ``account`` is the account's name as look-ups compare it (the users'
        ``lookup_key`` of the email as sent), whether or not the account exists.

        A replay of the request (pyramid_retry) was counted by its first attempt.
        """
        if request.environ.get("retry.attempt", 0) > 0:
            return
        now = int(self.clock())
        with self.session_factory(bind=self.bind) as session, session.begin():
            self._purge(session, now)
            for kind, key in (("address", address_key(request)), ("account", account_key(account))):
                attempts, window_start = self._count(session, key, now)
                if attempts > self.limits[kind]:
                    retry_after = max(1, window_start + self.window - now)
                    break
            else:
                return
        raise error(429, "login", "too many attempts; try again later",
                    {"Retry-After": str(retry_after)})

    def forgive(self, dbsession, request, account):
        """After a successful login, in its transaction: uncount the address, reset the account.

        Rows are locked in the order ``reserve`` locks them (address, then
        account), so a login forgiving and another reserving cannot deadlock.
        """
        dbsession.execute(
            update(attempts_table)
            .where(attempts_table.c.key == address_key(request), attempts_table.c.attempts > 0)
            .values(attempts=attempts_table.c.attempts - 1)
        )
        dbsession.execute(delete(attempts_table).where(attempts_table.c.key == account_key(account)))
        mark_session_changed(dbsession)  # Core statements: tell the transaction

    def _count(self, session, key, now):
        """(attempts, window_start) of ``key`` after counting one more, atomically."""
        expired = attempts_table.c.window_start <= now - self.window
        upsert = insert_for(session, attempts_table)
        statement = (
            upsert.values(key=key, attempts=1, window_start=now)
            .on_conflict_do_update(
                index_elements=[attempts_table.c.key],
                set_={
                    "attempts": case((expired, 1), else_=attempts_table.c.attempts + 1),
                    "window_start": case((expired, now), else_=attempts_table.c.window_start),
                },
            )
            .returning(attempts_table.c.attempts, attempts_table.c.window_start)
        )
        return session.execute(statement).one()

    def _purge(self, session, now):
        purge_expired(session, attempts_table, attempts_table.c.key,
                      attempts_table.c.window_start, now - self.window)

