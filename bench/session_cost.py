"""What a brand-new Session per request costs, measured in-process.

Three ways to run the same tiny transaction (``SELECT 1``, then commit through
a transaction manager, as pyramid_tm does), on the bench's database:

- ``reused``: one Session, registered with zope.sqlalchemy once and kept
  (``keep_session``): what a request would cost without a session of its own;
- ``per-session listeners``: a new Session per transaction with
  ``zope.sqlalchemy.register`` attaching its listeners to each new session
  (what 6b7e654 did);
- ``this tree``: ``myapp.db.get_tm_session``, a new Session per transaction
  as the application makes it today.

The cost of a new Session is the difference to ``reused``. Batches of the
three are interleaved and the fastest batch of each kept, which removes most
of the noise of a shared machine.
"""

import time

import transaction
import zope.sqlalchemy
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from myapp.db import get_engine, get_session_factory, get_tm_session

STATEMENT = text("SELECT 1")


def _timed(run, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        run()
    return (time.perf_counter() - start) / iterations * 1e6


def measure(database_url, iterations=400, batches=5):
    """Microseconds per transaction of each way, and the new sessions' extra cost."""
    engine = get_engine({"sqlalchemy.url": database_url})
    manager = transaction.TransactionManager(explicit=True)
    factory = get_session_factory(engine)
    plain_factory = sessionmaker(bind=engine)

    kept = plain_factory()
    zope.sqlalchemy.register(kept, transaction_manager=manager, keep_session=True)

    def reused():
        manager.begin()
        kept.execute(STATEMENT)
        manager.commit()
        # zope.sqlalchemy leaves a kept session's database transaction open
        # after a read; end it, as closing a new session does (one ROLLBACK).
        kept.rollback()

    def per_session_listeners():
        manager.begin()
        session = plain_factory(info={"request": None})
        zope.sqlalchemy.register(session, transaction_manager=manager)
        session.execute(STATEMENT)
        manager.commit()
        session.close()

    def this_tree():
        manager.begin()
        session = get_tm_session(factory, manager)
        session.execute(STATEMENT)
        manager.commit()
        session.close()

    ways = {"reused": reused, "per-session listeners": per_session_listeners, "this tree": this_tree}
    best = {name: float("inf") for name in ways}
    try:
        for run in ways.values():
            _timed(run, 20)  # warm the pool and the statement caches
        for _ in range(batches):
            for name, run in ways.items():
                best[name] = min(best[name], _timed(run, iterations))
    finally:
        kept.close()
        engine.dispose()
    return {
        **best,
        "new session, per-session listeners": best["per-session listeners"] - best["reused"],
        "new session, this tree": best["this tree"] - best["reused"],
    }
