"""Reading articles: every answer about articles comes from ``article_rows``.

A page of articles costs a fixed number of SQL statements whatever its size:
one for the articles with their authors, favorites count, ``favorited`` and
``following`` (correlated subqueries), one for their tags (``selectinload``),
and one for the total count of a list.
"""

from sqlalchemy import exists, func, literal, select
from sqlalchemy.orm import contains_eager, defer, selectinload

from ..errors import not_found
from ..users.models import Follow, User, identity_key
from .models import Article, ArticleTag, Favorite


def _viewer_columns(viewer):
    favorites_count = (
        select(func.count())
        .where(Favorite.article_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )
    if viewer is None:
        return favorites_count, literal(False), literal(False)
    favorited = exists().where(Favorite.article_id == Article.id, Favorite.user_id == viewer.id)
    following = exists().where(
        Follow.follower_id == viewer.id, Follow.followee_id == Article.author_id
    )
    return favorites_count, favorited, following


def article_rows(dbsession, viewer, conditions=(), limit=None, offset=0, with_body=True):
    """Rows of (Article, favorites_count, favorited, following), newest first."""
    favorites_count, favorited, following = _viewer_columns(viewer)
    query = (
        select(
            Article,
            favorites_count.label("favorites_count"),
            favorited.label("favorited"),
            following.label("following"),
        )
        .join(Article.author)
        .options(contains_eager(Article.author), selectinload(Article.tags))
        .where(*conditions)
        .order_by(Article.created_at.desc(), Article.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if not with_body:
        query = query.options(defer(Article.body))
    return dbsession.execute(query).all()


def count_articles(dbsession, conditions):
    return dbsession.scalar(select(func.count(Article.id)).where(*conditions))


def list_conditions(filters):
    """WHERE conditions for /articles?tag=&author=&favorited= (all subqueries on Article).

    Usernames match in any case, as /profiles/{username} does.
    """
    conditions = []
    if filters.tag is not None:
        conditions.append(
            Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.name == filters.tag))
        )
    if filters.author is not None:
        conditions.append(
            Article.author_id.in_(select(User.id).where(User.username_key == identity_key(filters.author)))
        )
    if filters.favorited is not None:
        conditions.append(
            Article.id.in_(
                select(Favorite.article_id)
                .join(User, User.id == Favorite.user_id)
                .where(User.username_key == identity_key(filters.favorited))
            )
        )
    return conditions


def feed_conditions(viewer):
    followed = select(Follow.followee_id).where(Follow.follower_id == viewer.id)
    return [Article.author_id.in_(followed)]


def article_page(dbsession, viewer, conditions, page):
    """A page of list items (no body) and the total count of matching articles."""
    rows = article_rows(
        dbsession, viewer, conditions, limit=page.limit, offset=page.offset, with_body=False
    )
    return rows, count_articles(dbsession, conditions)


def article_by_slug(dbsession, viewer, slug):
    rows = article_rows(dbsession, viewer, [Article.slug == slug], limit=1)
    if not rows:
        raise not_found("article")
    return rows[0]


def find_article(dbsession, slug, for_update=False):
    """The Article itself, for writes; 404 when there is none.

    ``for_update`` locks its row until the transaction ends (``SELECT ... FOR
    UPDATE`` on PostgreSQL), for a request that changes the article from what
    it read: a second writer waits here and then reads the first one's result,
    so no request's changes are merged into another's (a lost update). A
    writer that waited for a DELETE finds nothing: 404. SQLite needs no row
    lock: a writing request holds the database's write lock from its first
    statement (``BEGIN IMMEDIATE``, myapp.db).
    """
    query = select(Article).where(Article.slug == slug)
    if for_update:
        query = query.with_for_update()
    article = dbsession.scalar(query)
    if article is None:
        raise not_found("article")
    return article


def popular_tags(dbsession):
    """Every tag in use, most used first, then by name."""
    return dbsession.scalars(
        select(ArticleTag.name)
        .group_by(ArticleTag.name)
        .order_by(func.count().desc(), ArticleTag.name)
    ).all()
