"""Which articles a page of /articles or the feed holds, in what order, and its total.

The WHERE and ORDER shapes of a page (myapp.articles.queries builds the
statement around them): each filter is a bound parameter of the same name.
"""

from sqlalchemy import bindparam, select

from ..users.models import Follow, User
from . import counters as counted
from .counters import ARTICLES, AUTHOR, FAVORITES_BY, TAG, subject_of
from .models import Article, ArticleTag, Favorite

articles = Article.__table__
tags = ArticleTag.__table__
favorites = Favorite.__table__
users = User.__table__
follows = Follow.__table__

#: The filters of /articles, each a bound parameter of the same name.
FILTERS = ("tag", "author", "favorited")
#: The filters that name a user: compared with ``users.username_key``.
USERNAME_FILTERS = frozenset({"author", "favorited"})


def filter_conditions(filters, feed):
    """WHERE conditions on ``articles`` for the named filters (bound parameters)."""
    conditions = []
    if "tag" in filters:
        conditions.append(
            articles.c.id.in_(select(tags.c.article_id).where(tags.c.name == bindparam("tag")))
        )
    if "author" in filters:
        conditions.append(
            articles.c.author_id.in_(select(users.c.id).where(users.c.username_key == bindparam("author")))
        )
    if "favorited" in filters:
        conditions.append(
            articles.c.id.in_(
                select(favorites.c.article_id)
                .join(users, users.c.id == favorites.c.user_id)
                .where(users.c.username_key == bindparam("favorited"))
            )
        )
    if feed:
        conditions.append(
            articles.c.author_id.in_(
                select(follows.c.followee_id).where(follows.c.follower_id == bindparam("viewer_id"))
            )
        )
    return conditions


NEWEST_FIRST = (articles.c.created_at.desc(), articles.c.id.desc())


def user_subject(name):
    """The counter subject of the user whose ``username_key`` is the parameter ``name``."""
    return (
        select(subject_of(users.c.id)).where(users.c.username_key == bindparam(name)).scalar_subquery()
    )


def maintained_total(filters, feed):
    """The total from the counters, or None when the page has more than one filter."""
    if len(filters) + feed > 1:
        return None
    if feed:
        followed = select(subject_of(follows.c.followee_id)).where(
            follows.c.follower_id == bindparam("viewer_id")
        )
        return (
            select(counted.summed())
            .where(counted.counters.c.kind == AUTHOR, counted.counters.c.subject.in_(followed))
            .scalar_subquery()
        )
    if not filters:
        return counted.total(ARTICLES, "")
    kind, subject = {
        "tag": (TAG, bindparam("tag")),
        "author": (AUTHOR, user_subject("author")),
        "favorited": (FAVORITES_BY, user_subject("favorited")),
    }[filters[0]]
    return counted.total(kind, subject)
