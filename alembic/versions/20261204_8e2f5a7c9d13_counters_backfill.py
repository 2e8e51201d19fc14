"""Fill the counters in batches; comments indexed for keyset pages

Revision ID: 8e2f5a7c9d13
Revises: 3b9d0c6e1f42
Create Date: 2026-12-04 18:05:00

Safe on a big database while the application serves (PostgreSQL, when the
migration runs with a transaction per revision, as ``initialize_myapp_db``
does):

- the index is built with ``CREATE INDEX CONCURRENTLY`` (writes go on);
- the counters are filled a batch of articles at a time, each batch in a short
  transaction of its own that locks ``articles``, ``article_tags`` and
  ``favorites`` in SHARE mode (reads go on, writes wait for the batch, well
  under a second), counts the batch's rows and moves ``counter_backfill``
  on. A write made meanwhile adds its deltas only for articles already
  counted (myapp.articles.counters), so nothing is counted twice or missed.
  A batch that cannot get its locks within ``LOCK_WAIT`` gives up and tries
  again, so a long transaction never makes writers queue behind the batch.
  Each batch is sized from the one before to hold its locks about
  ``BATCH_SECONDS``, however loaded the server: a fixed 5,000 articles once
  held writers 1.8 s on a busy machine (bench.scale --migration at 1M).

Elsewhere (SQLite, or a caller's open transaction, as the tests use) the same
statements run once, in the caller's transaction.
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
FIRST_BATCH, MIN_BATCH, MAX_BATCH = 1_000, 100, 20_000  # articles per batch
BATCH_SECONDS = 0.2  # how long a batch should hold its SHARE locks
LOCK_WAIT = '300ms'

#: The rows of articles [lo, hi) as counter deltas, added to slot 0.
COUNT_BATCH = sa.text("""
INSERT INTO counters (kind, subject, slot, n)
SELECT kind, subject, 0, n FROM (
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
) AS deltas
WHERE n > 0
ORDER BY kind, subject
ON CONFLICT (kind, subject, slot) DO UPDATE SET n = counters.n + excluded.n
""")


def _count_batch(connection, batch):
    """Count the next ``batch`` articles; True when every article is counted."""
    lo = connection.execute(sa.text('SELECT next_id FROM counter_backfill')).scalar()
    if lo is None:
        return True
    top = connection.execute(sa.text('SELECT max(id) FROM articles')).scalar() or 0
    hi = lo + batch
    connection.execute(COUNT_BATCH, {'lo': lo, 'hi': hi})
    if hi > top:
        connection.execute(sa.text('DELETE FROM counter_backfill'))
        return True
    connection.execute(sa.text('UPDATE counter_backfill SET next_id = :hi'), {'hi': hi})
    return False


def _online(engine):
    batch = FIRST_BATCH
    while True:
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                connection.execute(sa.text(
                    'LOCK TABLE articles, article_tags, favorites IN SHARE MODE'))
                locked = time.monotonic()
                done = _count_batch(connection, batch)
            if done:
                return
            took = max(time.monotonic() - locked, 0.001)  # the locks held, commit included
            batch = max(MIN_BATCH, min(MAX_BATCH, 2 * batch, int(batch * BATCH_SECONDS / took)))
        except OperationalError as exc:
            if getattr(exc.orig, 'sqlstate', None) != '55P03':  # lock_not_available
                raise
            time.sleep(0.05)


def upgrade():
    context = op.get_context()
    connection = op.get_bind()
    online = connection.dialect.name == 'postgresql' and context.opts.get('transaction_per_migration')
    if not online:
        op.create_index(INDEX, 'comments', ['article_id', 'created_at', 'id'])
        while not _count_batch(connection, 2**62):
            pass
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
