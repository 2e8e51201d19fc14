"""Which articles a page of /articles or the feed holds, in what order, and its total.

The WHERE and ORDER shapes of a page (myapp.articles.queries builds the
statement around them): each filter is a bound parameter of the same name.

Every page reads its newest entries from one index and stops after
``offset + limit`` of them, so its cost does not grow with the data:
- no filter, ``favorited``: (created_at, id) of ``articles``;
- ``tag``: (name, created_at DESC, article_id DESC) of ``article_tags``,
  whose ``created_at`` is the article's: a rare tag's page does not walk the
  whole list looking for its few articles, nor a popular tag's sort its
  hundreds of thousands;
- ``author``: (author_id, created_at DESC, id DESC) of ``articles``;
- the feed (PostgreSQL): the same index, once per followed author
  (``LATERAL``, at most ``offset + limit`` rows each), merged: 200 followed
  authors cost 200 short index reads however many articles they wrote.
  SQLite, for development, takes the plain ``IN`` form.
A keyset cursor is a condition on the same index's columns.
"""

from sqlalchemy import bindparam, literal_column, select, true, tuple_

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
        # "=" (one user at most: username_key is unique), so the index on (author_id,
        # created_at, id) gives the author's articles in order.
        conditions.append(
            articles.c.author_id
            == select(users.c.id).where(users.c.username_key == bindparam("author")).scalar_subquery()
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


def _older(created_at, item_id):
    """The keyset cursor's condition: older than (``after_created_at``, ``after_id``)."""
    after = (bindparam("after_created_at", type_=articles.c.created_at.type), bindparam("after_id"))
    return tuple_(created_at, item_id) < tuple_(*after)


def chosen_ids(dialect_name, filters, feed, keyset, first_rows=None):
    """The ids of a page's articles (column ``chosen_id``), newest first, ``limit`` and
    ``offset`` applied, as a subquery; ``keyset``: after the cursor's article.

    ``first_rows``: the first ``first_rows`` instead, that number written into the
    SQL (myapp.articles.queries says why).
    """
    if first_rows is None:
        limit, offset = bindparam("limit"), bindparam("offset")
    else:
        limit, offset = literal_column(str(int(first_rows))), None
    if "tag" in filters:
        others = filter_conditions(tuple(name for name in filters if name != "tag"), feed)
        query = select(tags.c.article_id.label("chosen_id")).where(tags.c.name == bindparam("tag"))
        if others:
            query = query.join(articles, articles.c.id == tags.c.article_id).where(*others)
        order = (tags.c.created_at, tags.c.article_id)
    elif feed and not filters and dialect_name == "postgresql":
        followed = (
            select(follows.c.followee_id)
            .where(follows.c.follower_id == bindparam("viewer_id"))
            .subquery("followed")
        )
        own = select(articles.c.id, articles.c.created_at).where(
            articles.c.author_id == followed.c.followee_id
        )
        if keyset:
            own = own.where(_older(articles.c.created_at, articles.c.id))
        newest = (
            own.order_by(*NEWEST_FIRST)
            .limit(limit if offset is None else limit + offset)
            .lateral("newest")
        )
        query = select(newest.c.id.label("chosen_id")).select_from(followed).join(newest, true())
        order, keyset = (newest.c.created_at, newest.c.id), False  # applied inside
    else:
        query = select(articles.c.id.label("chosen_id")).where(*filter_conditions(filters, feed))
        order = (articles.c.created_at, articles.c.id)
    if keyset:
        query = query.where(_older(*order))
    query = query.order_by(order[0].desc(), order[1].desc()).limit(limit)
    if offset is not None:
        query = query.offset(offset)
    return query.subquery("chosen")


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
