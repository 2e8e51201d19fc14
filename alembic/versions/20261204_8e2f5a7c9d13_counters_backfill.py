"""Fill the counters in batches; comments indexed for keyset pages

Revision ID: 8e2f5a7c9d13
Revises: 3b9d0c6e1f42
Create Date: 2026-12-04 18:05:00

Safe on a big database while the application serves (PostgreSQL, when the
migration runs with a transaction per revision, as ``initialize_myapp_db``
does):

- the index is built with ``CREATE INDEX CONCURRENTLY`` (writes go on);
- the counters are filled a batch of articles [lo, hi) at a time, each batch
  one transaction of its own, without a table lock:

  1. the batch's counts, from the statement's snapshot, go into the
     ``BATCH_SLOT`` rows of ``counters`` (the count is the sum of its slots;
     no writer ever adds to that slot, so no writer waits for these rows)
     and into a temporary table. This is nearly all of the work, and it
     blocks nothing;
  2. ``UPDATE counter_backfill SET next_id = hi``: a writer locks that row
     FOR SHARE when it checks whether its article is counted
     (myapp.articles.counters), so the UPDATE waits for every writer that
     found one of these articles not counted yet, until it commits; a writer
     that checks now waits for the batch instead. Writers that only read
     the row without locking it (their article was counted already) never
     wait;
  3. in a new statement, so from a snapshot that holds every write that
     found its article not counted: the batch's counts again, minus step 1's,
     added to the same rows (the writes made between the two snapshots;
     usually none). Then commit.

  Nothing is counted twice or missed: a write to an article of the batch
  either locked the progress row before step 2 (it added no deltas, and
  committed before step 3's snapshot, which counts it), or checked after
  step 2 (it waited for the batch's commit, found its article counted and
  added its deltas; it was not committed at step 3's snapshot, which does
  not count it), whatever the order of its change and its check; a batch
  that fails leaves nothing. Writers wait only during steps 2-3: a rescan
  of the batch's rows, without step 1's upserts; that step may take at
  most ``HOLD_LIMIT`` (statement_timeout: the batch is rolled back and
  tried again smaller; after a deadlock or a serialization failure, the
  same batch again), and the batch commits without waiting for its WAL
  to be flushed (a write that saw the batch commit flushes it with its own
  commit). Each batch is sized from the one before so that steps 2-3 take
  about ``HOLD_SECONDS``: an article with 100,000 favorites comes to a
  batch of its own, and holds writers about as long as any other batch.
  The adaptive batches of the earlier design (SHARE locks on ``articles``,
  ``article_tags`` and ``favorites`` for the whole count) held writers up
  to 1.3 s at 1M on a loaded machine; these, at most 0.37 s in the same
  bench (``bench.scale --migration --sizes 1M``, 2026-12-05 08:45 UTC: 277 s,
  47,888 writes meanwhile, none waiting over a second; bench/README.md, "Scale").

Elsewhere (SQLite, or a caller's open transaction, as the tests use) the
counts are made at once, in the caller's transaction, into slot 0.
"""
import time

from alembic import op
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

revision = '8e2f5a7c9d13'
down_revision = '3b9d0c6e1f42'
branch_labels = None
depends_on = None

INDEX = 'ix_comments_article_id_created_at_id'
FIRST_BATCH, MAX_BATCH = 1_000, 50_000  # articles per batch
HOLD_SECONDS = 0.1  # how long a batch should hold the writers of its articles (steps 2-3)
HOLD_LIMIT = 500  # ms: step 3 cancelled past this (statement_timeout)
PROGRESS_WAIT = '10s'  # step 2's wait for the writers in flight (lock_timeout): blocks nobody
BATCH_SLOT = -1  # the writers' slots are 0..SLOTS-1 (myapp.articles.counters)
EVERY_ID = 2**62
QUERY_CANCELED, LOCK_NOT_AVAILABLE = '57014', '55P03'
#: A deadlock or a serialization failure: the batch was rolled back, the same batch runs again.
TRANSIENT = ('40P01', '40001')

#: The counts of the rows of articles [lo, hi): (kind, subject, n).
DELTAS = """
    SELECT 'articles' AS kind, '' AS subject, count(*) AS n
        FROM articles WHERE id >= :lo AND id < :hi
    UNION ALL
    SELECT 'author', CAST(author_id AS VARCHAR(64)), count(*)
        FROM articles WHERE id >= :lo AND id < :hi GROUP BY author_id
    UNION ALL
    SELECT 'tag', name, count(*)
        FROM article_tags WHERE article_id >= :lo AND article_id < :hi GROUP BY name
    UNION ALL
    SELECT 'favorites_by', CAST(user_id AS VARCHAR(64)), count(*)
        FROM favorites WHERE article_id >= :lo AND article_id < :hi GROUP BY user_id
    UNION ALL
    SELECT 'favorites_of', CAST(article_id AS VARCHAR(64)), count(*)
        FROM favorites WHERE article_id >= :lo AND article_id < :hi GROUP BY article_id
"""
ADD = 'ON CONFLICT (kind, subject, slot) DO UPDATE SET n = counters.n + excluded.n'
#: Offline: the counts into slot 0, in (kind, subject) order.
COUNT_BATCH = sa.text(f"""
INSERT INTO counters (kind, subject, slot, n)
SELECT kind, subject, 0, n FROM ({DELTAS}) AS deltas WHERE n > 0 ORDER BY kind, subject {ADD}""")
STAGED = 'counter_backfill_batch'
CREATE_STAGED = sa.text(f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGED}
    (kind VARCHAR(16), subject VARCHAR(64), n BIGINT) ON COMMIT DELETE ROWS""")
#: Step 1: the counts, kept and added.
STAGE = sa.text(f"""
WITH staged AS (
    INSERT INTO {STAGED} (kind, subject, n) SELECT * FROM ({DELTAS}) AS deltas WHERE n > 0
    RETURNING kind, subject, n
)
INSERT INTO counters (kind, subject, slot, n) SELECT kind, subject, {BATCH_SLOT}, n FROM staged {ADD}""")
#: Step 3: what changed since step 1's snapshot.
CORRECT = sa.text(f"""
INSERT INTO counters (kind, subject, slot, n)
SELECT kind, subject, {BATCH_SLOT}, sum(n) FROM (
    {DELTAS}
    UNION ALL
    SELECT kind, subject, -n FROM {STAGED}
) AS changes
GROUP BY kind, subject HAVING sum(n) <> 0 {ADD}""")
MOVE = sa.text('UPDATE counter_backfill SET next_id = :hi WHERE next_id = :lo')
FINISH = sa.text('DELETE FROM counter_backfill WHERE next_id = :lo')


def _batch(connection, batch, limit):
    """One batch in ``connection``'s open transaction, up to its commit: None when every
    article is counted, False when another run moved the progress first (roll back),
    else the time (time.monotonic) from which it holds the writers of its articles."""
    lo = connection.execute(sa.text('SELECT next_id FROM counter_backfill')).scalar()
    if lo is None:
        return None
    top = connection.execute(sa.text('SELECT max(id) FROM articles')).scalar() or 0
    last = lo + batch > top
    hi = EVERY_ID if last else lo + batch
    # Durable with the first write that depends on it (its commit flushes this one's WAL).
    connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
    connection.execute(STAGE, {'lo': lo, 'hi': hi})
    connection.execute(sa.text(f"SET LOCAL lock_timeout = '{PROGRESS_WAIT}'"))
    moved = connection.execute(FINISH if last else MOVE, {'lo': lo, 'hi': hi}).rowcount
    held = time.monotonic()
    if not moved:
        return False
    connection.execute(sa.text(f"SET LOCAL statement_timeout = {limit}"))
    connection.execute(CORRECT, {'lo': lo, 'hi': hi})
    return held


def _online(engine):
    with engine.connect() as connection:
        connection.execute(CREATE_STAGED)
        connection.commit()
        batch, limit = FIRST_BATCH, HOLD_LIMIT
        while True:
            try:
                with connection.begin():
                    held = _batch(connection, batch, limit)
                    if held is False:
                        raise _Moved()
            except _Moved:
                continue
            except OperationalError as exc:
                code = getattr(exc.orig, 'sqlstate', None)
                if code == QUERY_CANCELED:  # step 3 past its limit: a smaller batch
                    # (one article that needs longer, however rare, gets it: the batch must end)
                    batch, limit = max(1, batch // 4), limit * 2 if batch == 1 else limit
                elif code != LOCK_NOT_AVAILABLE and code not in TRANSIENT:
                    raise
                time.sleep(0.05)
                continue
            if held is None:
                break
            took = max(time.monotonic() - held, 0.001)  # steps 2-3, the commit included
            batch = max(1, min(MAX_BATCH, 2 * batch, int(batch * HOLD_SECONDS / took)))
            limit = HOLD_LIMIT
        connection.execute(sa.text(f'DROP TABLE {STAGED}'))
        connection.commit()


class _Moved(Exception):
    """Another run of this revision moved the progress row first."""


def upgrade():
    context = op.get_context()
    connection = op.get_bind()
    online = connection.dialect.name == 'postgresql' and context.opts.get('transaction_per_migration')
    if not online:
        op.create_index(INDEX, 'comments', ['article_id', 'created_at', 'id'])
        lo = connection.execute(sa.text('SELECT next_id FROM counter_backfill')).scalar()
        if lo is not None:
            connection.execute(COUNT_BATCH, {'lo': lo, 'hi': EVERY_ID})
            connection.execute(sa.text('DELETE FROM counter_backfill'))
        return
    with context.autocommit_block():
        op.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} '
                   'ON comments (article_id, created_at, id)')
        _online(connection.engine)


def downgrade():
    op.drop_index(INDEX, table_name='comments')
    connection = op.get_bind()
    connection.execute(sa.text('DELETE FROM counters'))
    connection.execute(sa.text('INSERT INTO counter_backfill (id, next_id) VALUES (1, 0)'))
