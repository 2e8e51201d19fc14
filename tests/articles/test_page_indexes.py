"""Tag pages, author pages and the feed read their own index (myapp.articles.filters).

A tag page reads ``article_tags`` by (name, created_at, article_id), so the
copy of the article's ``created_at`` there must always be the article's,
whoever writes; the feed merges each followed author's newest articles
(``LATERAL`` on PostgreSQL). Whatever the shape, a page is the slice of the
newest-first list that SQL gives, by offset and by cursor.
"""

import datetime
import itertools

import pytest
import sqlalchemy as sa

from ..helpers import auth, create_article, favorite, follow, list_articles, set_timestamps, slugs
from .test_counts_and_cursors import walk

MISMATCHED = sa.text(
    "SELECT count(*) FROM article_tags t JOIN articles a ON a.id = t.article_id"
    " WHERE t.created_at IS NULL OR t.created_at <> a.created_at"
)


def mismatched(db_engine):
    with db_engine.connect() as connection:
        return connection.execute(MISMATCHED).scalar()


def test_a_tags_created_at_is_always_its_articles(testapp, db_engine, alice):
    first = create_article(testapp, alice.token, title="first", tagList=["x", "y"])["slug"]
    second = create_article(testapp, alice.token, title="second", tagList=["x"])["slug"]
    testapp.put_json(f"/api/articles/{first}", {"article": {"tagList": ["y", "z"]}},
                     headers=auth(alice.token), status=200)
    # A writer that knows nothing of the column (a script, the previous version of the app).
    with db_engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO article_tags (article_id, name) SELECT id, 'raw' FROM articles WHERE slug = :s"
        ), {"s": second})
    with db_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM article_tags")).scalar() == 4
    assert mismatched(db_engine) == 0

    # An article's created_at changed around the application: its tags follow.
    set_timestamps(db_engine, second, datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    assert mismatched(db_engine) == 0
    assert slugs(list_articles(testapp, tag="x")) == [second]
    assert slugs(list_articles(testapp, tag="y")) == [first]
    assert slugs(list_articles(testapp, tag="raw")) == [second]
    create_article(testapp, alice.token, title="third", tagList=["raw"])
    assert slugs(list_articles(testapp, tag="raw")) == ["third", second]


def test_a_tags_copy_cannot_be_null_on_postgresql(db_engine, testapp, alice):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite's trigger fills the column after the insert; only PostgreSQL has the CHECK")
    slug = create_article(testapp, alice.token, title="checked", tagList=["x"])["slug"]
    with pytest.raises(sa.exc.IntegrityError, match="ck_article_tags_created_at_not_null"):
        with db_engine.begin() as connection:
            connection.execute(sa.text(
                "UPDATE article_tags SET created_at = NULL WHERE article_id = "
                "(SELECT id FROM articles WHERE slug = :s)"), {"s": slug})


@pytest.fixture
def mixed(testapp, alice, bob, carol):
    """Nine articles, newest last in creation order, by alice, bob and carol in turn,
    tagged t or u, two of them favorited by carol; carol follows alice and bob.
    Newest first: [(slug, author, tag)]."""
    made = []
    authors = itertools.cycle([alice, bob, carol])
    for n in range(9):
        author = next(authors)
        tag = "t" if n % 2 == 0 else "u"
        made.append((create_article(testapp, author.token, title=f"m{n}", tagList=[tag, "all"])["slug"],
                     author.username, tag))
    favorite(testapp, carol.token, "m0")
    favorite(testapp, carol.token, "m3")
    follow(testapp, carol.token, "alice")
    follow(testapp, carol.token, "bob")
    return list(reversed(made))


@pytest.mark.parametrize("params, keep", [
    ({"tag": "t"}, lambda slug, author, tag: tag == "t"),
    ({"tag": "all", "author": "alice"}, lambda slug, author, tag: author == "alice"),
    ({"tag": "t", "author": "bob"}, lambda slug, author, tag: author == "bob" and tag == "t"),
    ({"tag": "u", "favorited": "carol"}, lambda slug, author, tag: slug in ("m0", "m3") and tag == "u"),
    ({"author": "carol"}, lambda slug, author, tag: author == "carol"),
    ({"author": "Bob"}, lambda slug, author, tag: author == "bob"),
    ({"author": "nobody"}, lambda slug, author, tag: False),
])
def test_filtered_pages_by_offset_and_by_cursor(testapp, mixed, params, keep):
    wanted = [slug for slug, author, tag in mixed if keep(slug, author, tag)]
    for limit in (1, 2, 5):
        by_offset = [slugs(list_articles(testapp, limit=limit, offset=offset, **params))
                     for offset in range(0, len(wanted) + 1, limit)]
        assert [slug for page in by_offset for slug in page] == wanted
        assert list_articles(testapp, limit=limit, **params)["articlesCount"] == len(wanted)
        query = "&".join(f"{name}={value}" for name, value in params.items())
        pages, _ = walk(testapp, f"/api/articles?limit={limit}&{query}")
        assert [a["slug"] for page in pages for a in page] == wanted


def test_the_feed_merges_the_followed_authors_by_offset_and_by_cursor(testapp, mixed, carol):
    wanted = [slug for slug, author, _ in mixed if author in ("alice", "bob")]
    assert len(wanted) == 6
    for limit in (1, 2, 4):
        by_offset = [slugs(list_articles(testapp, carol.token, path="/api/articles/feed",
                                         limit=limit, offset=offset))
                     for offset in range(0, len(wanted) + 1, limit)]
        assert [slug for page in by_offset for slug in page] == wanted
        pages, _ = walk(testapp, f"/api/articles/feed?limit={limit}", carol.token)
        assert [a["slug"] for page in pages for a in page] == wanted
    page = list_articles(testapp, carol.token, path="/api/articles/feed", limit=3, offset=2)
    assert slugs(page) == wanted[2:5] and page["articlesCount"] == 6
    assert all(a["author"]["following"] for a in page["articles"])
    assert [a["favorited"] for a in list_articles(testapp, carol.token, path="/api/articles/feed")[
        "articles"]] == [slug in ("m0", "m3") for slug in wanted]
