"""GET /api/articles/feed: articles by the authors the viewer follows."""

from ..helpers import account, create_article, favorite, follow, get_article, list_articles, slugs

FEED = "/api/articles/feed"


def feed(testapp, account, **params):
    return list_articles(testapp, account.token, path=FEED, **params)


def test_the_feed_needs_a_token(testapp):
    assert testapp.get(FEED, status=401).json == {"errors": {"token": ["is missing"]}}


def test_a_new_users_feed_is_empty(testapp, alice, bob):
    create_article(testapp, bob.token)
    assert feed(testapp, alice) == {"articles": [], "articlesCount": 0}


def test_the_feed_lists_followed_authors_newest_first(testapp, alice, bob, carol):
    follow(testapp, alice.token, "bob")
    follow(testapp, alice.token, "carol")
    for author, title in [(bob, "b1"), (carol, "c1"), (alice, "own"), (bob, "b2")]:
        create_article(testapp, author.token, title=title)
    create_article(testapp, account(testapp, "dave").token, title="not-followed")
    favorite(testapp, alice.token, "c1")

    page = feed(testapp, alice)

    expected = [get_article(testapp, slug, alice.token) for slug in ("b2", "c1", "b1")]
    assert page == {
        "articles": [{k: v for k, v in a.items() if k != "body"} for a in expected],
        "articlesCount": 3,
    }
    assert all(a["author"]["following"] for a in page["articles"])
    assert [a["favorited"] for a in page["articles"]] == [False, True, False]


def test_feed_pages(testapp, alice, bob):
    follow(testapp, alice.token, "bob")
    for number in range(5):
        create_article(testapp, bob.token, title=f"b{number}")

    assert [slugs(feed(testapp, alice, limit=2, offset=offset)) for offset in (0, 2, 4, 6)] == [
        ["b4", "b3"], ["b2", "b1"], ["b0"], [],
    ]
    assert feed(testapp, alice, limit=1, offset=3)["articlesCount"] == 5
    assert slugs(feed(testapp, alice)) == ["b4", "b3", "b2", "b1", "b0"]


def test_unfollowing_takes_the_author_out_of_the_feed(testapp, alice, bob):
    follow(testapp, alice.token, "bob")
    create_article(testapp, bob.token, title="b1")
    assert slugs(feed(testapp, alice)) == ["b1"]

    testapp.delete("/api/profiles/bob/follow", headers=alice.headers, status=200)

    assert feed(testapp, alice) == {"articles": [], "articlesCount": 0}


def test_each_viewer_has_their_own_feed(testapp, alice, bob, carol):
    follow(testapp, alice.token, "bob")
    follow(testapp, bob.token, "carol")
    create_article(testapp, bob.token, title="by-bob")
    create_article(testapp, carol.token, title="by-carol")

    assert slugs(feed(testapp, alice)) == ["by-bob"]
    assert slugs(feed(testapp, bob)) == ["by-carol"]
    assert slugs(feed(testapp, carol)) == []
