"""Writing articles, tags and favorites."""

import re
import secrets
import unicodedata

from sqlalchemy import BigInteger, Integer, bindparam, delete, select

from ..edge.errors import forbidden
from ..models import utcnow
from ..db import mark_session_changed
from ..db.compiled import Compiled
from ..db.statements import for_session, per_dialect
from . import counters
from .counters import ARTICLES, AUTHOR, FAVORITES_BY, FAVORITES_OF, TAG
from .models import Article, ArticleTag
from .queries import articles, favorites, find_article, tags

MAX_SLUG_BASE = 80

#: Slugs that /articles/{slug} can never reach: /articles/feed is the feed.
RESERVED_SLUGS = frozenset({"feed"})


def slugify(title):
    """``"Hello, World!"`` → ``"hello-world"``; titles with no letters become ``"article"``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:MAX_SLUG_BASE].strip("-") or "article"


def _slug_taken(dbsession, slug):
    if slug in RESERVED_SLUGS:
        return True
    return dbsession.scalar(select(Article.id).where(Article.slug == slug)) is not None


def unique_slug(dbsession, title):
    """A slug no article has: the title's, or with a random suffix when taken.

    Two requests may pick the same free slug at once; the database's unique
    constraint stops the second, which is replayed and picks another.
    """
    base = slugify(title)
    slug = base
    while _slug_taken(dbsession, slug):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def _tags(names):
    return [ArticleTag(name=name) for name in sorted(set(names))]


def create_article(dbsession, author, new_article):
    article = Article(
        slug=unique_slug(dbsession, new_article.title),
        title=new_article.title,
        description=new_article.description,
        body=new_article.body,
        author_id=author.id,
        tags=_tags(new_article.tagList),
    )
    dbsession.add(article)
    dbsession.flush()
    deltas = {(ARTICLES, ""): 1, (AUTHOR, author.id): 1}
    deltas.update({(TAG, tag.name): 1 for tag in article.tags})
    counters.bump(dbsession, article.id, deltas)
    return article


def article_to_change(dbsession, user, slug):
    """The article ``slug``, locked for this transaction (``find_article``): 404 when
    there is none, 403 unless ``user`` wrote it. The one authorization check of
    an update or a deletion, made before anything else of the request."""
    article = find_article(dbsession, slug, for_update=True)
    if article.author_id != user.id:
        raise forbidden("article")
    return article


def update_article(dbsession, article, changes):
    """Apply the fields present in ``changes`` to an ``article_to_change``; a new
    title gives a new slug.

    A title that only differs in case or punctuation keeps the slug (and the
    article's address) it has. An update that gives no field changes nothing.
    """
    given = changes.model_dump(include=changes.model_fields_set)
    if not given:
        return article
    if "title" in given and slugify(given["title"]) != slugify(article.title):
        article.slug = unique_slug(dbsession, given["title"])
    if "tagList" in given:
        current = {
            tag.name: tag
            for tag in dbsession.scalars(
                select(ArticleTag).where(ArticleTag.article_id == article.id)
            )
        }
        wanted = set(given.pop("tagList"))
        removed, added = set(current) - wanted, wanted - set(current)
        for name in removed:
            dbsession.delete(current[name])
        dbsession.add_all(ArticleTag(article_id=article.id, name=name) for name in added)
        dbsession.flush()
        deltas = {(TAG, name): -1 for name in removed}
        deltas.update({(TAG, name): 1 for name in added})
        counters.bump(dbsession, article.id, deltas)
    for field, value in given.items():
        setattr(article, field, value)
    article.updated_at = utcnow()
    dbsession.flush()
    return article


#: An article's tags deleted, their names returned: the deletion's first change.
DELETE_TAGS = delete(tags).where(tags.c.article_id == bindparam("article_id")).returning(tags.c.name)


def delete_article(dbsession, article):
    """An ``article_to_change``; its favorites and comments go with it (ON DELETE CASCADE).

    Its tags go first, by a statement that also names them. The counters'
    check locks the backfill's progress while the article is not counted, so
    no batch counts it between this write's check and its changes
    (myapp.articles.counters.counted). The favoriters' counts are read from
    the favorites, before the article goes.
    """
    names = dbsession.execute(DELETE_TAGS, {"article_id": article.id}).scalars().all()
    counters.article_deleted(dbsession, article.id, article.author_id, names)
    dbsession.delete(article)
    dbsession.flush()


def _favorite_rows():
    """The favorite of ``user_id`` for the article ``slug``: nothing for an unknown slug."""
    now = bindparam("now", type_=favorites.c.created_at.type)
    return select(bindparam("user_id", type_=Integer), articles.c.id, now).where(
        articles.c.slug == bindparam("slug")
    )


def _favorite_statement(dialect_insert):
    return (
        dialect_insert(favorites)
        .from_select(["user_id", "article_id", "created_at"], _favorite_rows())
        .on_conflict_do_nothing()
        .returning(favorites.c.article_id)
    )


#: Core statements (the ORM would take bound values for a bulk insert), built once
#: (per dialect: ON CONFLICT is not standard SQL); the session is marked changed.
FAVORITE = per_dialect(_favorite_statement)
UNFAVORITE = delete(favorites).where(
    favorites.c.user_id == bindparam("user_id"),
    favorites.c.article_id.in_(select(articles.c.id).where(articles.c.slug == bindparam("slug"))),
).returning(favorites.c.article_id)


def _favorite_deltas(user_id, article_id, delta):
    """The counts a favorite (``delta`` 1) or an unfavorite (-1) changes."""
    return {(FAVORITES_BY, user_id): delta, (FAVORITES_OF, article_id): delta}


def _counted(statement):
    """PostgreSQL: ``statement`` and its counts in one statement (data-modifying CTEs), one
    round trip instead of two; the counts change only when a row did (the deltas are
    rows of ``changed``), by the counters' own rules (myapp.articles.counters.adding:
    the backfill's check comes after the change, and locks the progress row while
    the article is not counted, as in the two statements)."""
    changed = statement.cte("changed")
    user_id, delta = bindparam("user_id", type_=Integer), bindparam("delta", type_=BigInteger)
    deltas = _favorite_deltas(user_id, changed.c.article_id, delta)
    rows = counters.delta_rows(deltas, changed)
    counts = counters.adding("postgresql", changed.c.article_id, rows, counters.SLOT).cte("counted")
    return Compiled(select(changed.c.article_id).add_cte(counts))


def _in_one_statement(statement, delta):
    """The write of ``_counted(...)``: the row and its counts in one round trip."""

    def write(dbsession, user, slug):
        params = {"user_id": user.id, "slug": slug, "slot": counters.random_slot(), "delta": delta}
        if delta > 0:
            params["now"] = utcnow()  # the column's default (Favorite.created_at)
        statement.rows(dbsession, params)
        mark_session_changed(dbsession)

    return write


def _then_counts(statement, delta):
    """The write of ``statement`` (FAVORITE or UNFAVORITE), then its counts (``bump``)."""

    def write(dbsession, user, slug):
        params = {"user_id": user.id, "slug": slug}
        if delta > 0:
            params["now"] = utcnow()
        changed = dbsession.execute(statement, params).scalar()
        mark_session_changed(dbsession)
        if changed is not None:  # counted once: only when a row changed
            counters.bump(dbsession, changed, _favorite_deltas(user.id, changed, delta))

    return write


#: How a favorite and an unfavorite are written, per database (``for_session``):
#: PostgreSQL in one statement, SQLite (no data-modifying CTE) the row, then its counts.
FAVORITE_WRITES = {
    "postgresql": _in_one_statement(_counted(FAVORITE["postgresql"]), 1),
    "sqlite": _then_counts(FAVORITE["sqlite"], 1),
}
UNFAVORITE_WRITES = {
    "postgresql": _in_one_statement(_counted(UNFAVORITE), -1),
    "sqlite": _then_counts(UNFAVORITE, -1),
}


def favorite(dbsession, user, slug):
    """Idempotent: favoriting twice leaves one favorite.

    ``INSERT … SELECT … ON CONFLICT DO NOTHING``: no reads first, and no
    unique-constraint race between two requests favoriting at once. An unknown
    slug inserts nothing; the caller's read of the article answers 404 (and
    the transaction aborts).
    """
    for_session(FAVORITE_WRITES, dbsession)(dbsession, user, slug)


def unfavorite(dbsession, user, slug):
    """Idempotent: one DELETE, which may find nothing."""
    for_session(UNFAVORITE_WRITES, dbsession)(dbsession, user, slug)
