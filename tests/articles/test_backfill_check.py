"""The writers' side of the counters' backfill, statement by statement (PostgreSQL).

While the backfill runs, a write adds deltas only for an article already
counted (myapp.articles.counters.counted), and the batch (the migration
8e2f5a7c9d13) moves the progress row with an UPDATE, then counts from a new
snapshot. What makes that exact, checked here with two connections:

- a write that finds its article not counted keeps the progress row locked
  until it ends, so the batch's UPDATE waits for it (and its change is in the
  batch's later snapshot);
- a write that checks while a batch holds the row waits for the batch and,
  once it commits, sees the article counted and adds its deltas; if the batch
  rolls back, it adds none;
- a counted article's write locks nothing: a batch moves on meanwhile.

The counts use a kind of the test's own, removed afterwards.
"""

import threading

import pytest
import sqlalchemy as sa
import transaction

from myapp.articles import counters
from myapp.db.sessions import get_session_factory, get_tm_session

KIND = "test-backfill"
ARTICLE = 1_000
WAIT = "200ms"


@pytest.fixture
def progress(db_engine, backend):
    """The backfill at ``next_id`` (set by the test); its row and the test's counts go after."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: no write interleaves with a batch")

    def at(next_id):
        with db_engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM counter_backfill"))
            connection.execute(sa.text("INSERT INTO counter_backfill (id, next_id) VALUES (1, :n)"),
                               {"n": next_id})

    yield at
    with db_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM counter_backfill"))
        connection.execute(sa.text("DELETE FROM counters WHERE kind = :k"), {"k": KIND})


def count(db_engine):
    with db_engine.connect() as connection:
        return connection.execute(sa.select(counters.total(KIND, "x"))).scalar()


def write(db_engine):
    """A writer's transaction after its check: its manager (the caller commits or aborts)."""
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    counters.bump(get_tm_session(get_session_factory(db_engine), manager), ARTICLE, {(KIND, "x"): 1})
    return manager


def end(manager):
    """Abort ``manager``'s transaction, unless it has ended."""
    try:
        manager.abort()
    except transaction.interfaces.NoTransaction:
        pass


def move(connection, next_id):
    """The batch's step 2, waiting at most WAIT for the writers in flight."""
    connection.execute(sa.text(f"SET LOCAL lock_timeout = '{WAIT}'"))
    connection.execute(sa.text("UPDATE counter_backfill SET next_id = :n"), {"n": next_id})


def test_a_batch_waits_for_a_write_that_found_its_article_not_counted(db_engine, progress):
    progress(ARTICLE)
    writer = write(db_engine)
    try:
        with db_engine.connect() as batch:
            with pytest.raises(sa.exc.OperationalError, match="lock"):
                with batch.begin():
                    move(batch, ARTICLE + 1)
            writer.commit()
            with batch.begin():
                move(batch, ARTICLE + 1)
                assert batch.execute(sa.text("SELECT next_id FROM counter_backfill")).scalar() == ARTICLE + 1
    finally:
        end(writer)
    assert count(db_engine) == 0, "the batch counts the write; the write added nothing"


@pytest.mark.parametrize("batch_ends", ["commit", "rollback"])
def test_a_write_that_checks_during_a_batch_waits_and_sees_its_outcome(db_engine, progress, batch_ends):
    progress(ARTICLE)
    writers = []
    with db_engine.connect() as batch:
        batch.begin()
        move(batch, ARTICLE + 1)
        writing = threading.Thread(target=lambda: writers.append(write(db_engine)))
        writing.start()
        writing.join(0.5)
        waited = writing.is_alive()
        getattr(batch, batch_ends)()
        writing.join(10)
    assert waited, "the write's check waits for the batch"
    assert not writing.is_alive()
    writers[0].commit()
    assert count(db_engine) == (1 if batch_ends == "commit" else 0)


def test_a_write_of_a_counted_article_locks_nothing(db_engine, progress):
    progress(ARTICLE + 1)
    writer = write(db_engine)
    try:
        with db_engine.begin() as batch:
            move(batch, ARTICLE + 100)
        writer.commit()
    finally:
        end(writer)
    assert count(db_engine) == 1
