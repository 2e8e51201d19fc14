"""Maintained counts: what a page needs is read, never recounted.

Each count (articles in all, per author, per tag, favorites per user and per
article) is the sum of up to ``SLOTS`` rows of ``counters`` (kind, subject,
slot). A write adds its deltas in the same transaction as the change itself,
to one slot picked at random for the transaction: two writers bumping the
same count (100 users favoriting one article, a publish with the most used
tag) usually touch different rows, so they do not wait for each other's
commit; a read sums at most ``SLOTS`` rows through the primary key.

Deadlocks: the deltas of one write go in one statement, sorted by (kind,
subject), all to the one slot; so any two writers take the rows they share in
the same order.

While the migration that adds the counters fills them (``counter_backfill``
holds the first article id it has not counted yet), a write adds deltas only
for articles already counted; the others are counted by the backfill, and
The backfill locks the counted tables for each
short batch, so a write's check of the progress row, made after its own
change, cannot interleave with a batch. Reads use the counters as they are:
during the backfill (on a million articles, see bench/README.md) the counts
of articles not yet counted are missing from the answers.
"""

import random

from sqlalchemy import BigInteger, SmallInteger, String, cast, delete, exists, func, literal, select, text
from sqlalchemy import union_all
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

    Part of the write's own statement, which runs after the write's change:
    the backfill's batch cannot run in between (it locks the tables the write
    changed), so the article is counted either by the batch or by the write."""
    return ~exists().where(backfill.c.next_id <= article_id)


def random_slot():
    """The slot of one transaction's deltas."""
    return random.randrange(SLOTS)


def bump(dbsession, article_id, deltas):
    """Add ``deltas`` ({(kind, subject): n}) caused by a change to ``article_id``: one statement."""
    given = sorted(((kind, str(subject)), n) for (kind, subject), n in deltas.items() if n)
    if not given:
        return
    rows = union_all(
        *(
            select(
                literal(kind, String(16)).label("kind"),
                literal(subject, String(64)).label("subject"),
                literal(n, BigInteger).label("n"),
            )
            for (kind, subject), n in given
        )
    ).subquery("deltas")
    ordered = (
        select(rows.c.kind, rows.c.subject, literal(random_slot(), SmallInteger), rows.c.n)
        .where(counted(article_id))
        .order_by(rows.c.kind, rows.c.subject)
    )
    dbsession.execute(_upsert(dbsession.get_bind().dialect.name, ordered))
    mark_session_changed(dbsession)


def article_deleted(dbsession, article_id, author_id, tag_names):
    """The counts an article's deletion changes: before its rows go (its favorites are read)."""
    bump(
        dbsession,
        article_id,
        {(ARTICLES, ""): -1, (AUTHOR, author_id): -1, **{(TAG, name): -1 for name in tag_names}},
    )
    # Set-based: a viral article's 100,000 favoriters in one statement.
    by_user = (
        select(
            literal(FAVORITES_BY, String(16)),
            subject_of(favorites.c.user_id),
            literal(random_slot(), SmallInteger),
            literal(-1, BigInteger),
        )
        .where(favorites.c.article_id == article_id, counted(article_id))
        .order_by(subject_of(favorites.c.user_id))
    )
    dbsession.execute(_upsert(dbsession.get_bind().dialect.name, by_user))
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
