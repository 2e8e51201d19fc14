"""One purge of expired rows and one per-dialect INSERT for the whole app (myapp.db.statements)."""

import threading

import pytest
import sqlalchemy as sa
import transaction

from myapp.auth.models import LoginAttempts
from myapp.db import get_session_factory, get_tm_session
from myapp.db.statements import PURGE_BATCH, for_session, insert_for, per_dialect, purge_expired

attempts = LoginAttempts.__table__


def add_attempts(db_engine, count, window_start):
    with db_engine.begin() as connection:
        connection.execute(attempts.insert(), [
            {"key": f"k{n:04}", "attempts": 1, "window_start": window_start} for n in range(count)])


def count(db_engine):
    with db_engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(attempts))


def purge_in_a_request_transaction(db_engine, cutoff):
    """As a request does: a session of a transaction manager, committed by the manager."""
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(get_session_factory(db_engine), manager)
        deleted = purge_expired(session, attempts, attempts.c.key, attempts.c.window_start, cutoff)
    session.close()
    return deleted


def test_a_purge_deletes_a_bounded_batch_of_expired_rows_and_commits_with_the_transaction(
    db_engine, make_app
):
    make_app()  # empties the tables afterwards
    add_attempts(db_engine, PURGE_BATCH + 20, window_start=100)
    with db_engine.begin() as connection:
        connection.execute(attempts.insert(), {"key": "fresh", "attempts": 1, "window_start": 10_000})
    assert purge_in_a_request_transaction(db_engine, cutoff=100) == PURGE_BATCH
    assert count(db_engine) == 21, "a batch went, and the transaction kept the delete"
    assert purge_in_a_request_transaction(db_engine, cutoff=100) == 20
    assert purge_in_a_request_transaction(db_engine, cutoff=100) == 0
    assert count(db_engine) == 1, "what has not expired stays"


def test_a_purge_skips_rows_another_transaction_holds(db_engine, backend, make_app):
    if backend != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one writer at a time")
    make_app()
    add_attempts(db_engine, 3, window_start=100)
    with db_engine.connect() as holder:
        holder.execute(sa.text("SET lock_timeout = '5s'"))
        holder.execute(attempts.select().where(attempts.c.key == "k0000").with_for_update())
        outcome = []
        purger = threading.Thread(
            target=lambda: outcome.append(purge_in_a_request_transaction(db_engine, cutoff=100)))
        purger.start()
        purger.join(10)
        holder.rollback()
    assert outcome == [2], "the held row is left for later, without waiting for it"
    assert count(db_engine) == 1


def test_on_conflict_statements_are_built_once_per_dialect_and_picked_per_session(
    db_engine, make_app
):
    make_app()
    statements = per_dialect(lambda insert: insert(attempts).on_conflict_do_nothing())
    assert set(statements) == {"postgresql", "sqlite"}
    with sa.orm.Session(db_engine) as session, session.begin():
        for _ in range(2):
            session.execute(for_session(statements, session),
                            {"key": "once", "attempts": 1, "window_start": 1})
        upsert = insert_for(session, attempts).values(key="once", attempts=1, window_start=1)
        session.execute(upsert.on_conflict_do_update(
            index_elements=[attempts.c.key], set_={"attempts": attempts.c.attempts + 1}))
    with db_engine.connect() as connection:
        assert connection.execute(sa.select(attempts.c.key, attempts.c.attempts)).all() == [("once", 2)]
