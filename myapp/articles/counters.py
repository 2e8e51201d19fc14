"""Maintained counts: what a page needs is read, never recounted.

Each count (articles in all, per author, per tag, favorites per user and per
article) is the sum of up to ``SLOTS`` rows of ``counters`` (kind, subject,
slot). A write adds its deltas in the same transaction as the change itself,
to one slot picked at random for the transaction: two writers bumping the
same count (100 users favoriting one article, a publish with the most used
tag) usually touch different rows, so they do not wait for each other's
commit; a read sums at most ``SLOTS`` rows (and the backfill's, below)
through the primary key.

Deadlocks: the deltas of one write go in one statement, sorted by (kind,
subject), all to the one slot; so any two writers take the rows they share in
the same order. ``adding`` builds every statement that writes deltas (``bump``,
an article's deletion, PostgreSQL's one-statement favorite in
myapp.articles.services), so these rules and the backfill's below are applied
in that one place.

While the migration that adds the counters fills them (``counter_backfill``
holds the first article id it has not counted yet), a write adds deltas only
for articles already counted; the others are counted by the backfill. The
write's check locks the progress row FOR SHARE while its article is not
counted (``counted``), and a batch moves the progress only once those writes
have committed, then counts from a later snapshot (the migration
8e2f5a7c9d13 argues it): no table is locked, and only the writes of the
articles of the batch being counted (and new ones) wait, for the end of its
short last step. The backfill adds its counts to a slot of its own (-1),
which no write touches. Reads use the counters as they are: during the
backfill (on a million articles, see bench/README.md) the counts of articles
not yet counted are missing from the answers.
"""

import random

from sqlalchemy import BigInteger, SmallInteger, String, bindparam, cast, delete, func, literal
from sqlalchemy import select, text, union_all
from sqlalchemy.sql.expression import ColumnElement
from ..db import mark_session_changed
from ..db.statements import INSERTS
from .models import Counter, CounterBackfill, Favorite

#: Rows per count: concurrent writers of one count spread over this many rows.
SLOTS = 16

ARTICLES = "articles"  # subject "": every article
AUTHOR = "author"  # subject: the author's id
TAG = "tag"  # subject: the tag's name
FAVORITES_BY = "favorites_by"  # subject: the user's id
FAVORITES_OF = "favorites_of"  # subject: the article's id


counters = Counter.__table__
backfill = CounterBackfill.__table__
favorites = Favorite.__table__


def subject_of(column):
    """A numeric id column as a counter subject (decimal text)."""
    return cast(column, String(64))


def summed():
    """The sum of the selected slots as an integer (PostgreSQL's sum of bigint is numeric), 0 for none."""
    return cast(func.coalesce(func.sum(counters.c.n), 0), BigInteger)


def total(kind, subject):
    """The count ``kind``/``subject`` (a value or a column expression), 0 when never counted."""
    return (
        select(summed())
        .where(counters.c.kind == kind, counters.c.subject == subject)
        .scalar_subquery()
    )


def _upsert(dialect_name, rows):
    """INSERT ``rows`` (a select of kind, subject, slot, n), adding to the slots that exist."""
    insert = INSERTS[dialect_name]
    statement = insert(counters).from_select(["kind", "subject", "slot", "n"], rows)
    return statement.on_conflict_do_update(
        index_elements=[counters.c.kind, counters.c.subject, counters.c.slot],
        set_={"n": counters.c.n + statement.excluded.n},
    )


def counted(article_id):
    """True when ``article_id``'s rows are in the counters: always, once the backfill is done.

    Part of a statement of the write's transaction, before or after its
    change. While the article is not counted, the progress row is locked FOR
    SHARE until the write commits: the batch that counts the article moves
    the progress only after that, and counts the write's change from a later
    snapshot. A write that checks while that batch holds the row waits for
    its commit, finds the article counted and adds its deltas (the batch's
    snapshot did not hold its change). A counted article locks nothing.
    ``adding`` is its one user: every write of the counters applies it there."""
    not_yet = select(literal(1)).where(backfill.c.next_id <= article_id).with_for_update(read=True)
    return ~not_yet.exists()


def random_slot():
    """The slot of one statement's deltas."""
    return random.randrange(SLOTS)


#: ``adding``'s slot in a statement built once per process: the statement's
#: parameter ``slot``, given ``random_slot()`` on each run.
SLOT = bindparam("slot", type_=SmallInteger)


def _value(given, type_):
    return given if isinstance(given, ColumnElement) else literal(given, type_)


def delta_rows(deltas, changed=None):
    """Selects of the rows (kind, subject, n) of ``deltas`` ({(kind, subject): n}), for
    ``adding``. Subjects and deltas are values, or SQL expressions of the rows a
    statement changed (``changed``, its CTE: a row of deltas per changed row)."""
    rows = []
    for (kind, subject), n in deltas.items():
        if isinstance(subject, ColumnElement):
            subject = subject_of(subject)
        else:
            subject = literal(str(subject), String(64))
        row = select(
            literal(kind, String(16)).label("kind"), subject.label("subject"), _value(n, BigInteger).label("n")
        )
        rows.append(row if changed is None else row.select_from(changed))
    return rows


def adding(dialect_name, article_id, rows, slot=None):
    """The statement that adds ``rows`` (selects of kind, subject, n: ``delta_rows``, or any
    set of rows) to the counters, for a change to ``article_id`` (a value, or a column of
    the changed rows). The rules of every write to the counters, here only:

    - nothing for an article the backfill has not counted yet (``counted``);
    - the rows in (kind, subject) order, all to one slot: ``slot``, a random
      one (``random_slot``) unless given (``SLOT`` in a statement built once);
      so any two writers take the rows they share in the same order;
    - a slot that exists is added to (``ON CONFLICT DO UPDATE``).
    """
    rows = union_all(*(row.where(counted(article_id)) for row in rows)).subquery("deltas")
    slot = literal(random_slot(), SmallInteger) if slot is None else slot
    ordered = select(rows.c.kind, rows.c.subject, slot, rows.c.n).order_by(rows.c.kind, rows.c.subject)
    return _upsert(dialect_name, ordered)


def bump(dbsession, article_id, deltas):
    """Add ``deltas`` ({(kind, subject): n}) caused by a change to ``article_id``: one statement."""
    given = {key: n for key, n in deltas.items() if n}
    if not given:
        return
    dbsession.execute(adding(dbsession.get_bind().dialect.name, article_id, delta_rows(given)))
    mark_session_changed(dbsession)


def article_deleted(dbsession, article_id, author_id, tag_names):
    """The counts an article's deletion changes: before its rows go (its favorites are read)."""
    bump(
        dbsession,
        article_id,
        {(ARTICLES, ""): -1, (AUTHOR, author_id): -1, **{(TAG, name): -1 for name in tag_names}},
    )
    # Set-based: a viral article's 100,000 favoriters in one statement.
    by_user = select(
        literal(FAVORITES_BY, String(16)).label("kind"),
        subject_of(favorites.c.user_id).label("subject"),
        literal(-1, BigInteger).label("n"),
    ).where(favorites.c.article_id == article_id)
    dbsession.execute(adding(dbsession.get_bind().dialect.name, article_id, [by_user]))
    dbsession.execute(
        delete(counters).where(counters.c.kind == FAVORITES_OF, counters.c.subject == str(article_id))
    )
    mark_session_changed(dbsession)


#: Every count from the rows, into slot 0 (the counters emptied first).
RECOUNT = text("""
INSERT INTO counters (kind, subject, slot, n)
SELECT kind, subject, 0, n FROM (
    SELECT 'articles' AS kind, '' AS subject, count(*) AS n FROM articles
    UNION ALL
    SELECT 'author', CAST(author_id AS VARCHAR(64)), count(*) FROM articles GROUP BY author_id
    UNION ALL
    SELECT 'tag', name, count(*) FROM article_tags GROUP BY name
    UNION ALL
    SELECT 'favorites_by', CAST(user_id AS VARCHAR(64)), count(*) FROM favorites GROUP BY user_id
    UNION ALL
    SELECT 'favorites_of', CAST(article_id AS VARCHAR(64)), count(*) FROM favorites GROUP BY article_id
) AS counted
WHERE n > 0
""")


def recount(connection):
    """Rebuild every count from the rows (a Connection or Session, in its transaction),
    for data written around the application: bulk loads (bench/scale) and tests.
    It locks the counters while it runs: not for a database taking writes."""
    connection.execute(delete(counters))
    connection.execute(delete(backfill))
    connection.execute(RECOUNT)
