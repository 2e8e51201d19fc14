"""Tag pages and author pages read their newest articles from one index

Revision ID: 5d3a9e7c1b20
Revises: d74f1af18129
Create Date: 2026-12-05 05:20:00

- ``article_tags.created_at``, a copy of the article's, and the index (name,
  created_at DESC, article_id DESC): a tag's page, rare or popular, reads
  its newest N entries and stops. The database keeps the copy, with two
  triggers: one copies the value from the article whenever an insert leaves
  it NULL, so every writer keeps it (the version of the application serving
  while this runs, which knows nothing of the column, included); the other
  copies an article's new ``created_at`` to its tags (the application never
  changes it; a script or a data fix may).
- The index (author_id, created_at DESC, id DESC) on ``articles``: an
  author's page and each followed author of the feed, newest first.
- ``ix_article_tags_name`` and ``ix_articles_author_id`` go: the new indexes
  begin with the same column, so they serve the same lookups (the foreign
  key's cascade included), and each write maintains one index fewer.

Safe on a big database while the application serves (PostgreSQL, when each
revision runs in its own transaction, as ``initialize_myapp_db`` does):

1. The column (no default: a catalog change, no rewrite), the trigger and a
   ``CHECK (created_at IS NOT NULL) NOT VALID`` in one short transaction:
   one statement (a DO block) that gives up, and tries again, when it has
   waited for and held its locks ``BRIEFLY`` in all, each lock waited for
   at most ``LOCK_WAIT``. Readers and writers queue behind its ACCESS
   EXCLUSIVE locks (on both tables: a trigger of each) from its first
   request on, so a long transaction elsewhere, a second lock to wait for
   while holding the first, or a slow moment of a loaded machine never
   holds them longer than that. From its commit on, every new row has the
   value.
2. The rows that were there, a batch of articles' tags at a time, each batch
   an UPDATE in a transaction of its own. It locks only the rows it changes
   (a writer waits only when it touches one of the batch's articles, until
   the batch commits); reads never wait. Each batch is sized from the time
   the one before took, to last about ``BATCH_SECONDS``, and a batch that
   runs past ``BATCH_LIMIT`` (statement_timeout; a slow moment of a loaded
   machine) is rolled back and tried again a quarter the size, so no writer
   waits for one much longer than that. A batch that deadlocks with a writer
   changing the same article's tags in another order is run again as it was.
3. The indexes, ``CREATE INDEX CONCURRENTLY`` (writes go on), after the
   backfill so the backfill's updates need not maintain them.
4. ``VALIDATE CONSTRAINT``: a scan that blocks no write (SHARE UPDATE
   EXCLUSIVE). The column stays nullable, with the validated CHECK in place
   of NOT NULL: the guarantee is the same, and SQLite, whose trigger fills
   the column after the insert, needs it nullable (one model for both). A
   ``SET NOT NULL`` would take an ACCESS EXCLUSIVE lock for nothing more.
5. The two old indexes, ``DROP INDEX CONCURRENTLY``.

``bench.scale --migration`` times this on a seeded database while a writer
runs, and reports the longest write (bench/README.md).

Elsewhere (SQLite, or a caller's open transaction, as the tests use) the same
changes are made at once, in the caller's transaction. Alembic's batch mode
on SQLite recreates a table and loses its triggers: a later revision that
alters ``article_tags`` or ``articles`` that way must create the triggers again.
"""
import time

from alembic import op
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

revision = '5d3a9e7c1b20'
down_revision = 'd74f1af18129'
branch_labels = None
depends_on = None

#: Articles per batch: the first, the bounds, and the time a batch aims at (the longest a
#: writer waits for one of its rows). ~5,000 articles (~20,000 tag rows) on an idle 2-core machine.
FIRST_BATCH, MIN_BATCH, MAX_BATCH = 1_000, 100, 50_000
BATCH_SECONDS = 0.2
BATCH_LIMIT = 500  # ms
LOCK_WAIT = '200ms'
BRIEFLY = 400  # ms, doubled after every 5 attempts that ran out of it
TAG_INDEX = 'ix_article_tags_name_created_at_article_id'
AUTHOR_INDEX = 'ix_articles_author_id_created_at_id'
CHECK = 'ck_article_tags_created_at_not_null'
FUNCTION = 'article_tags_created_at'
TRIGGER = 'article_tags_created_at'
MOVED = 'articles_created_at_to_tags'  # the trigger (and function) of a changed created_at

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT created_at INTO NEW.created_at FROM articles WHERE id = NEW.article_id;
    RETURN NEW;
END $$"""
# WHEN: a writer that gives the value (the bench's bulk load) calls no function at all.
PG_TRIGGER = (f'CREATE TRIGGER {TRIGGER} BEFORE INSERT ON article_tags FOR EACH ROW '
              f'WHEN (NEW.created_at IS NULL) EXECUTE FUNCTION {FUNCTION}()')
PG_MOVED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {MOVED}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE article_tags SET created_at = NEW.created_at WHERE article_id = NEW.id;
    RETURN NULL;
END $$"""
PG_MOVED_TRIGGER = (f'CREATE TRIGGER {MOVED} AFTER UPDATE OF created_at ON articles FOR EACH ROW '
                    f'WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at) EXECUTE FUNCTION {MOVED}()')
# SQLite's triggers cannot change NEW: it fills the row right after the insert, in the same statement.
SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON article_tags FOR EACH ROW WHEN NEW.created_at IS NULL
BEGIN
    UPDATE article_tags SET created_at = (SELECT created_at FROM articles WHERE id = NEW.article_id)
    WHERE article_id = NEW.article_id AND name = NEW.name;
END"""
SQLITE_MOVED_TRIGGER = f"""
CREATE TRIGGER {MOVED} AFTER UPDATE OF created_at ON articles FOR EACH ROW
WHEN NEW.created_at IS NOT OLD.created_at
BEGIN
    UPDATE article_tags SET created_at = NEW.created_at WHERE article_id = NEW.id;
END"""

COPY = ('UPDATE article_tags SET created_at = articles.created_at FROM articles '
        'WHERE articles.id = article_tags.article_id AND article_tags.created_at IS NULL')
COPY_BATCH = sa.text(COPY + ' AND article_tags.article_id >= :lo AND article_tags.article_id < :hi')
TAG_INDEX_COLUMNS = '(name, created_at DESC, article_id DESC)'
AUTHOR_INDEX_COLUMNS = '(author_id, created_at DESC, id DESC)'


def _briefly(engine, statements):
    """``statements`` in one transaction, one DO block that may take BRIEFLY (its lock
    waits included), each lock waited for at most LOCK_WAIT; tried again until it fits."""
    block = 'DO $block$ BEGIN\n' + ''.join(
        f'EXECUTE $statement${statement}$statement$;\n' for statement in statements) + 'END $block$'
    limit, cancelled = BRIEFLY, 0
    while True:
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                connection.execute(sa.text(f'SET LOCAL statement_timeout = {limit}'))
                connection.exec_driver_sql(block)
                return
        except OperationalError as exc:
            code = getattr(exc.orig, 'sqlstate', None)
            if code == '57014':  # query_canceled: past the limit
                cancelled += 1
                limit = limit * 2 if cancelled % 5 == 0 else limit
            elif code != '55P03':  # lock_not_available
                raise
            time.sleep(0.05)


def _backfill(engine):
    """The tags of the articles there now (later ones have it from the trigger)."""
    with engine.connect() as connection:
        top = connection.execute(sa.text('SELECT max(article_id) FROM article_tags')).scalar() or 0
    lo, batch, limit = 0, FIRST_BATCH, BATCH_LIMIT
    while lo <= top:
        started = time.monotonic()
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f'SET LOCAL statement_timeout = {limit}'))
                connection.execute(COPY_BATCH, {'lo': lo, 'hi': lo + batch})
        except OperationalError as exc:
            code = getattr(exc.orig, 'sqlstate', None)
            if code in ('40P01', '40001'):
                # A deadlock with a writer changing the same article's tags in another
                # order (or a serialization failure): rolled back, the same batch again.
                time.sleep(0.05)
                continue
            if code != '57014':  # query_canceled
                raise
            # (the smallest batch, however slow, gets longer: the backfill must end)
            batch, limit = max(MIN_BATCH, batch // 4), limit * 2 if batch == MIN_BATCH else limit
            continue
        limit = BATCH_LIMIT
        took = max(time.monotonic() - started, 0.001)
        lo += batch
        batch = max(MIN_BATCH, min(MAX_BATCH, 2 * batch, int(batch * BATCH_SECONDS / took)))


def _build_index(connection, name, definition):
    """CREATE INDEX CONCURRENTLY, for a run stopped half way too: an index its interrupted
    build left INVALID is dropped and built again, a valid one kept."""
    valid = connection.execute(sa.text(
        'SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)'), {'name': name}).scalar()
    if valid is False:
        op.execute(f'DROP INDEX CONCURRENTLY {name}')
    op.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}')


def _online(context, connection):
    with context.autocommit_block():
        engine = connection.engine
        _briefly(engine, [
            'ALTER TABLE article_tags ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE',
            PG_FUNCTION,
            f'DROP TRIGGER IF EXISTS {TRIGGER} ON article_tags',
            PG_TRIGGER,
            PG_MOVED_FUNCTION,
            f'DROP TRIGGER IF EXISTS {MOVED} ON articles',
            PG_MOVED_TRIGGER,
            f'ALTER TABLE article_tags DROP CONSTRAINT IF EXISTS {CHECK}',
            f'ALTER TABLE article_tags ADD CONSTRAINT {CHECK} CHECK (created_at IS NOT NULL) NOT VALID',
        ])
        _backfill(engine)
        _build_index(connection, TAG_INDEX, f'article_tags {TAG_INDEX_COLUMNS}')
        _build_index(connection, AUTHOR_INDEX, f'articles {AUTHOR_INDEX_COLUMNS}')
        op.execute(f'ALTER TABLE article_tags VALIDATE CONSTRAINT {CHECK}')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_article_tags_name')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_articles_author_id')


def upgrade():
    context = op.get_context()
    connection = op.get_bind()
    postgresql = connection.dialect.name == 'postgresql'
    if postgresql and context.opts.get('transaction_per_migration'):
        _online(context, connection)
        return
    op.add_column('article_tags', sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(COPY)
    op.execute(f'CREATE INDEX {TAG_INDEX} ON article_tags {TAG_INDEX_COLUMNS}')
    op.execute(f'CREATE INDEX {AUTHOR_INDEX} ON articles {AUTHOR_INDEX_COLUMNS}')
    op.drop_index('ix_article_tags_name', table_name='article_tags')
    op.drop_index('ix_articles_author_id', table_name='articles')
    if postgresql:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
        op.execute(PG_MOVED_FUNCTION)
        op.execute(PG_MOVED_TRIGGER)
        op.execute(f'ALTER TABLE article_tags ADD CONSTRAINT {CHECK} CHECK (created_at IS NOT NULL)')
    else:
        op.execute(SQLITE_TRIGGER)
        op.execute(SQLITE_MOVED_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP TRIGGER IF EXISTS {TRIGGER} ON article_tags')
        op.execute(f'DROP TRIGGER IF EXISTS {MOVED} ON articles')
        op.execute(f'DROP FUNCTION IF EXISTS {FUNCTION}()')
        op.execute(f'DROP FUNCTION IF EXISTS {MOVED}()')
        op.execute(f'ALTER TABLE article_tags DROP CONSTRAINT IF EXISTS {CHECK}')
    else:
        op.execute(f'DROP TRIGGER IF EXISTS {TRIGGER}')
        op.execute(f'DROP TRIGGER IF EXISTS {MOVED}')
    op.create_index('ix_articles_author_id', 'articles', ['author_id'])
    op.create_index('ix_article_tags_name', 'article_tags', ['name'])
    op.drop_index(AUTHOR_INDEX, table_name='articles')
    op.drop_index(TAG_INDEX, table_name='article_tags')
    with op.batch_alter_table('article_tags') as batch:
        batch.drop_column('created_at')
