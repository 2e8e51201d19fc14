"""Reading articles: every answer about articles comes from one statement.

The reads are column-level Core selects: no ORM entity is built to answer a
GET, and the database shapes what it can. Each article row carries its
author, its sorted tags (aggregated in the same statement: PostgreSQL
``array_agg``, SQLite ``json_group_array``), its favorites count and, for a
signed-in viewer, ``favorited`` and ``following`` (correlated subqueries). A
page also carries the total count of the matching articles, so a page costs
one statement whatever its size, even when it is empty (the count is the
left side of an outer join). A signed-in viewer's token is checked by the
same statement (``viewer_current``, myapp.users.current): the list, the feed
and one article answer a signed-in read in one statement.

Counts come from the maintained counters (myapp.articles.counters): the
total of a page with at most one filter (or the feed) and every article's
favorites count cost a few rows whatever the data's size. Two filters at
once count their matches (bounded by the narrower filter's index range).
(The row-counting statements stay, ``with_counters=False``: the scale bench
checks the counters' answers against them.)

Deep pages: ``offset`` is bounded (``schemas.MAX_OFFSET``); a keyset
``cursor`` (the last article's ``created_at`` and ``id``) continues after any
article at the cost of the first page.

Which articles a page holds, in what order, and where its total comes from
is myapp.articles.filters; this module builds the statement around it.

Statements are built once per shape (dialect, signed in or not, which
filters, counters or not, cursor or not) with bound parameters, and reused:
building a ``select()`` per request cost more than running it.

The page most requests ask for, the first of the default size, has its row
count written into the SQL instead of ``LIMIT``/``OFFSET`` parameters, so
that PostgreSQL plans it once per connection: with a parameter as the limit
its generic plan must assume 10 % of the rows, and it planned the list again
on every request (bench/README.md). Other pages keep the parameters.
"""

import functools

from sqlalchemy import JSON, bindparam, exists, false, func, select, true, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import NullType, TypeDecorator

from ..db.compiled import Compiled
from ..edge.errors import not_found
from ..models import iso_utc_text
from ..users.current import (
    ANONYMOUS, UNCHECKED, VIEWER_KINDS, check_viewer, viewer_kind, viewer_params, with_viewer_check,
)
from ..users.models import lookup_key
from . import counters as counted
from .counters import FAVORITES_OF, TAG, subject_of
from .filters import (
    FILTERS, USERNAME_FILTERS, articles, chosen_ids, favorites, filter_conditions, follows,
    maintained_total, tags, users,
)
from .models import Article
from .schemas import DEFAULT_LIMIT

class TagNames(TypeDecorator):
    """An article's tag names as a sorted list, from either database's aggregate."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            # psycopg hands back a list of str already: no per-item processing.
            return dialect.type_descriptor(NullType())
        return dialect.type_descriptor(JSON())

    def process_result_value(self, value, dialect):
        if dialect.name == "postgresql":
            return value or []  # array_agg sorted them; no tags gives NULL
        # json_group_array has no ORDER BY before SQLite 3.44.
        return sorted(value or ())


def _tag_names(dialect_name):
    if dialect_name == "postgresql":
        names = func.array_agg(aggregate_order_by(tags.c.name, tags.c.name))
    else:
        names = func.json_group_array(tags.c.name)
    return type_coerce(
        select(names).where(tags.c.article_id == articles.c.id).scalar_subquery(), TagNames
    )


def _favorites_count(with_counters):
    if with_counters:
        return counted.total(FAVORITES_OF, subject_of(articles.c.id))
    return select(func.count()).where(favorites.c.article_id == articles.c.id).scalar_subquery()


def _article_columns(dialect_name, signed_in, with_body, with_counters, followed=False):
    """``followed``: the viewer follows every author (the feed), nothing to look up."""
    viewer_id = bindparam("viewer_id")
    if signed_in:
        favorited = exists().where(
            favorites.c.article_id == articles.c.id, favorites.c.user_id == viewer_id
        )
        following = true() if followed else exists().where(
            follows.c.follower_id == viewer_id, follows.c.followee_id == articles.c.author_id
        )
    else:
        favorited = following = false()
    columns = [
        articles.c.id,
        articles.c.slug,
        articles.c.title,
        articles.c.description,
        _tag_names(dialect_name).label("tag_list"),
        articles.c.created_at,  # the order and the next page's cursor
        iso_utc_text(articles.c.created_at).label("created_at_iso"),
        iso_utc_text(articles.c.updated_at).label("updated_at_iso"),
        favorited.label("favorited"),
        _favorites_count(with_counters).label("favorites_count"),
        users.c.username,
        users.c.bio,
        users.c.image,
        following.label("following"),
    ]
    if with_body:
        columns.append(articles.c.body)
    return columns


@functools.lru_cache(maxsize=128)
def page_statement(
    dialect_name, signed_in, filters, feed=False, with_counters=False, keyset=False, first_rows=None,
):
    """A page of articles (no body) and the total: the total left-joined to the page.

    ``keyset``: only articles older than (``after_created_at``, ``after_id``);
    ``first_rows``: the first that many, a number in the SQL (no ``limit``/``offset``).
    """
    conditions = filter_conditions(filters, feed)
    maintained = maintained_total(filters, feed) if with_counters else None
    if maintained is not None:
        total = select(maintained.label("total"))
    else:
        total = select(func.count().label("total")).where(*conditions).select_from(articles)
    # The page's ids first (one index: myapp.articles.filters), then its columns for
    # those rows only: an offset skips index entries, not tags and counts.
    chosen = chosen_ids(dialect_name, filters, feed, keyset, first_rows)
    # MATERIALIZED: planned apart, the columns are computed for the chosen rows only;
    # inlined under the total's outer join they were computed as articles were read,
    # for all of them when the estimates were off (tests/articles/test_page_plans.py).
    page = (
        select(*_article_columns(dialect_name, signed_in, False, with_counters, followed=feed))
        .select_from(
            chosen.join(articles, articles.c.id == chosen.c.chosen_id).join(
                users, users.c.id == articles.c.author_id
            )
        )
        .cte("page")
        .prefix_with("MATERIALIZED")
    )
    total = total.subquery("total")
    return (
        select(total.c.total, *page.c)
        .select_from(total.outerjoin(page, true()))
        .order_by(page.c.created_at.desc(), page.c.id.desc())
    )


def _page_statement(dialect_name, signed_in, filters, feed, keyset, checked, first_rows):
    statement = page_statement(dialect_name, signed_in, filters, feed, True, keyset, first_rows)
    return with_viewer_check(statement) if checked else statement


@functools.lru_cache(maxsize=128)
def compiled_page(signed_in, filters, feed, keyset, checked=False, first_rows=None):
    """``page_statement`` with the counters, compiled once per dialect (myapp.db.compiled);
    ``checked``: with the column ``viewer_current``."""
    return Compiled(functools.partial(
        _page_statement, signed_in=signed_in, filters=filters, feed=feed, keyset=keyset,
        checked=checked, first_rows=first_rows,
    ))


@functools.lru_cache(maxsize=8)
def article_statement(dialect_name, signed_in, with_counters, checked=False):
    """One article (with its body) by slug; ``checked``: with the column ``viewer_current``."""
    statement = (
        select(*_article_columns(dialect_name, signed_in, True, with_counters))
        .join_from(articles, users, users.c.id == articles.c.author_id)
        .where(articles.c.slug == bindparam("slug"))
    )
    return with_viewer_check(statement) if checked else statement


def article_page(dbsession, viewer, page, feed=False):
    """(rows of a page of articles without body, total count of matching articles, more).

    ``viewer``: None, a signed-in User, or an ``UncheckedViewer`` (the token's
    claims, myapp.users.current), whose token is checked by the page's own
    statement: 401 when it was revoked or names no user, as ``request.user``
    would have answered, without a statement of its own.

    ``page`` has ``limit``, ``offset`` and ``after`` (None or the cursor's
    (created_at, id)), and the filters (``FILTERS``) it has that are not
    None apply; ``feed`` keeps the viewer's followed authors. ``more``: an
    article follows the page's last one.
    """
    given = tuple(name for name in FILTERS if getattr(page, name, None) is not None)
    after = getattr(page, "after", None)
    kind = viewer_kind(viewer)
    # One more than asked: whether a next page exists, for the Link header.
    rows_wanted = page.limit + 1
    first_rows = rows_wanted if page.limit == DEFAULT_LIMIT and page.offset == 0 else None
    statement = compiled_page(
        kind != ANONYMOUS, given, feed, after is not None, kind == UNCHECKED, first_rows
    )
    params = {name: getattr(page, name) for name in given}
    # Usernames match in any case, as /profiles/{username} does.
    params.update({name: lookup_key(params[name]) for name in USERNAME_FILTERS & set(given)})
    params.update(viewer_params(viewer))
    if first_rows is None:
        params.update(limit=rows_wanted, offset=page.offset)
    if after is not None:
        params.update(after_created_at=after[0], after_id=after[1])
    rows = statement.rows(dbsession, params)  # one row at least: the total's
    check_viewer(dbsession, viewer, rows)
    found = [row for row in rows if row.slug is not None]
    return found[: page.limit], rows[0].total, len(found) > page.limit


#: One article, anonymous, signed in, and signed in with the token checked
#: (myapp.db.compiled), by ``viewer_kind``.
ARTICLES_BY_SLUG = {
    kind: Compiled(functools.partial(
        article_statement, signed_in=kind != ANONYMOUS, with_counters=True, checked=kind == UNCHECKED
    ))
    for kind in VIEWER_KINDS
}


def article_by_slug(dbsession, viewer, slug):
    """One article's row for ``viewer`` (as ``article_page``'s, an ``UncheckedViewer``'s
    token checked by the same statement: 401 before 404, as ``request.user``)."""
    rows = ARTICLES_BY_SLUG[viewer_kind(viewer)].rows(dbsession, {"slug": slug, **viewer_params(viewer)})
    check_viewer(dbsession, viewer, rows)
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


def article_id(dbsession, slug):
    """The id of the article ``slug``; 404 when there is none."""
    found = dbsession.scalar(select(articles.c.id).where(articles.c.slug == slug))
    if found is None:
        raise not_found("article")
    return found


#: How many tags /api/tags lists: the most used ones.
TOP_TAGS = 100

_uses = func.sum(counted.counters.c.n)
MAINTAINED_TAGS = (
    select(counted.counters.c.subject)
    .where(counted.counters.c.kind == TAG)
    .group_by(counted.counters.c.subject)
    .having(_uses > 0)
    .order_by(_uses.desc(), counted.counters.c.subject)
    .limit(TOP_TAGS)
)


POPULAR_TAGS = Compiled(MAINTAINED_TAGS)


def popular_tags(dbsession):
    """The ``TOP_TAGS`` tags in use on most articles, most used first, then by name.

    From the maintained counts: a few rows per tag in use, whatever the number
    of articles."""
    return POPULAR_TAGS.scalars(dbsession, {})
