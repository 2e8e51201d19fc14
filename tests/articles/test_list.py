"""GET /api/articles: filters, order, pages and what each viewer sees."""

import datetime

import pytest

from ..helpers import (
    create_article,
    favorite,
    follow,
    get_article,
    list_articles,
    set_timestamps,
    slugs,
)


def without_body(article):
    return {k: v for k, v in article.items() if k != "body"}


def test_no_articles(testapp):
    assert list_articles(testapp) == {"articles": [], "articlesCount": 0}


def test_list_items_are_the_articles_without_body_newest_first(testapp, alice, bob):
    created = [
        create_article(testapp, alice.token, title="First", tagList=["b", "a"]),
        create_article(testapp, bob.token, title="Second"),
        create_article(testapp, alice.token, title="Third"),
    ]
    page = list_articles(testapp)
    assert page == {
        "articles": [without_body(get_article(testapp, a["slug"])) for a in reversed(created)],
        "articlesCount": 3,
    }
    assert "body" not in page["articles"][0]


def test_order_is_by_creation_time_then_by_id(testapp, db_engine, alice):
    for title in ("one", "two", "three"):
        create_article(testapp, alice.token, title=title)

    # The same moment for all: the later id comes first.
    set_timestamps(db_engine, None, datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    assert slugs(list_articles(testapp)) == ["three", "two", "one"]
    # created_at decides before the id does.
    set_timestamps(db_engine, "one", datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc))
    assert slugs(list_articles(testapp)) == ["one", "three", "two"]


@pytest.fixture
def library(testapp, alice, bob, carol):
    """alice: a1 (x, y), a2 (y); bob: b1 (x), b2; favorites: carol a1, b1; bob a1."""
    for account, title, tags in [
        (alice, "a1", ["x", "y"]),
        (bob, "b1", ["x"]),
        (alice, "a2", ["y"]),
        (bob, "b2", []),
    ]:
        create_article(testapp, account.token, title=title, tagList=tags)
    favorite(testapp, carol.token, "a1")
    favorite(testapp, carol.token, "b1")
    favorite(testapp, bob.token, "a1")


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["b2", "a2", "b1", "a1"]),
        ({"tag": "x"}, ["b1", "a1"]),
        ({"tag": "y"}, ["a2", "a1"]),
        ({"tag": "X"}, []),
        ({"author": "alice"}, ["a2", "a1"]),
        ({"author": "bob"}, ["b2", "b1"]),
        ({"favorited": "carol"}, ["b1", "a1"]),
        ({"favorited": "bob"}, ["a1"]),
        ({"favorited": "alice"}, []),
        ({"tag": "x", "author": "bob"}, ["b1"]),
        ({"tag": "y", "favorited": "carol"}, ["a1"]),
        ({"author": "alice", "favorited": "bob", "tag": "x"}, ["a1"]),
        ({"author": "nobody"}, []),
        ({"tag": "no-such-tag"}, []),
        ({"favorited": "nobody"}, []),
    ],
)
def test_filters(testapp, library, params, expected):
    page = list_articles(testapp, **params)
    assert slugs(page) == expected
    assert page["articlesCount"] == len(expected)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"limit": 2}, ["b2", "a2"]),
        ({"limit": 2, "offset": 2}, ["b1", "a1"]),
        ({"limit": 3, "offset": 3}, ["a1"]),
        ({"offset": 1}, ["a2", "b1", "a1"]),
        ({"offset": 4}, []),
        ({"offset": 1000}, []),
        ({"limit": 0}, []),
        ({"limit": 100}, ["b2", "a2", "b1", "a1"]),
    ],
)
def test_pages_count_every_matching_article(testapp, library, params, expected):
    assert list_articles(testapp, **params) == {
        "articles": [without_body(get_article(testapp, slug)) for slug in expected],
        "articlesCount": 4,
    }


def test_pages_of_a_filter(testapp, library):
    assert list_articles(testapp, tag="x", limit=1, offset=1)["articlesCount"] == 2
    assert slugs(list_articles(testapp, tag="x", limit=1, offset=1)) == ["a1"]


def test_twenty_articles_by_default(testapp, db_engine, alice):
    for number in range(21):
        create_article(testapp, alice.token, title=f"Article {number}")
    page = list_articles(testapp)
    assert page["articlesCount"] == 21
    assert slugs(page) == [f"article-{number}" for number in range(20, 0, -1)]


def test_favorites_and_following_as_each_viewer_sees_them(testapp, library, alice, bob, carol):
    follow(testapp, carol.token, "alice")

    def seen_by(account):
        page = list_articles(testapp, account.token if account else None)
        return {
            a["slug"]: (a["favorited"], a["favoritesCount"], a["author"]["following"])
            for a in page["articles"]
        }

    assert seen_by(None) == {
        "a1": (False, 2, False), "b1": (False, 1, False), "a2": (False, 0, False), "b2": (False, 0, False),
    }
    assert seen_by(carol) == {
        "a1": (True, 2, True), "b1": (True, 1, False), "a2": (False, 0, True), "b2": (False, 0, False),
    }
    assert seen_by(bob) == {
        "a1": (True, 2, False), "b1": (False, 1, False), "a2": (False, 0, False), "b2": (False, 0, False),
    }
    assert seen_by(alice) == seen_by(None)


@pytest.mark.parametrize("path", ["/api/articles", "/api/articles/feed"])
@pytest.mark.parametrize(
    "query, errors",
    [
        ("limit=101", {"limit": ["must be less than or equal to 100"]}),
        ("limit=-1", {"limit": ["must be greater than or equal to 0"]}),
        ("offset=-1", {"offset": ["must be greater than or equal to 0"]}),
        ("limit=ten", {"limit": ["must be an integer"]}),
        ("limit=2.5", {"limit": ["must be an integer"]}),
        ("offset=1e3", {"offset": ["must be an integer"]}),
        ("limit=", {"limit": ["can't be blank"]}),
        # Integers only in canonical decimal form: one spelling per number.
        ("offset=%2B0", {"offset": ["must be an integer"]}),
        ("offset=%2B0.0", {"offset": ["must be an integer"]}),
        ("offset=0.0", {"offset": ["must be an integer"]}),
        ("offset=%201", {"offset": ["must be an integer"]}),
        ("offset=1%20", {"offset": ["must be an integer"]}),
        ("limit=05", {"limit": ["must be an integer"]}),
        ("limit=-0", {"limit": ["must be an integer"]}),
        ("limit=1_0", {"limit": ["must be an integer"]}),
        # A single-valued parameter given twice is refused, not resolved to one value.
        ("offset=1&offset=2", {"offset": ["must be given at most once"]}),
        ("limit=5&limit=5", {"limit": ["must be given at most once"]}),
        ("limit=5&offset=0&limit=6&offset=0", {
            "limit": ["must be given at most once"], "offset": ["must be given at most once"]}),
        (
            "limit=1000&offset=-5",
            {
                "limit": ["must be less than or equal to 100"],
                "offset": ["must be greater than or equal to 0"],
            },
        ),
    ],
)
def test_page_bounds_are_422(testapp, alice, path, query, errors):
    create_article(testapp, alice.token)
    response = testapp.get(f"{path}?{query}", headers=alice.headers, status=422)
    assert response.json == {"errors": errors}


@pytest.mark.parametrize("query", ["tag=x&tag=y", "author=a&author=a", "favorited=a&favorited=b"])
def test_a_repeated_filter_is_422(testapp, query):
    name = query.split("=")[0]
    response = testapp.get(f"/api/articles?{query}", status=422)
    assert response.json == {"errors": {name: ["must be given at most once"]}}


def test_canonical_integers_and_repeated_unknown_parameters_are_accepted(testapp, alice):
    for title in ("one", "two", "three"):
        create_article(testapp, alice.token, title=title)
    page = list_articles(testapp, limit="0", offset="0")
    assert page == {"articles": [], "articlesCount": 3}
    page = testapp.get("/api/articles?limit=10&offset=2&unknown=1&unknown=2").json
    assert slugs(page) == [slugs(list_articles(testapp))[-1]]
