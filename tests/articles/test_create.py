"""POST /api/articles and GET /api/articles/{slug}."""

import datetime

import pytest

from ..helpers import ISO_UTC_MS, article_fields, create_article, db_snapshot, follow, get_article

NEW = {
    "title": "How to train your dragon",
    "description": "Ever wonder how?",
    "body": "You have to believe",
    "tagList": ["training", "dragons"],
}


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc
    )


def without_times(article):
    return {k: v for k, v in article.items() if k not in ("createdAt", "updatedAt")}


def test_create_answers_201_with_the_whole_article(testapp, alice):
    before = datetime.datetime.now(datetime.timezone.utc)
    response = testapp.post_json("/api/articles", {"article": NEW}, headers=alice.headers, status=201)
    after = datetime.datetime.now(datetime.timezone.utc)

    article = response.json["article"]
    assert list(response.json) == ["article"]
    assert without_times(article) == {
        "slug": "how-to-train-your-dragon",
        "title": "How to train your dragon",
        "description": "Ever wonder how?",
        "body": "You have to believe",
        "tagList": ["dragons", "training"],  # sorted
        "favorited": False,
        "favoritesCount": 0,
        "author": alice.profile(),
    }
    assert ISO_UTC_MS.match(article["createdAt"]) and ISO_UTC_MS.match(article["updatedAt"])
    assert article["createdAt"] == article["updatedAt"]
    # Really UTC, really now (to the millisecond the answer keeps).
    moment = parse_time(article["createdAt"])
    assert before - datetime.timedelta(milliseconds=1) <= moment <= after


def test_a_created_article_is_there_for_later_requests(testapp, alice, bob):
    created = create_article(testapp, alice.token, **NEW)

    assert get_article(testapp, created["slug"]) == created
    assert get_article(testapp, created["slug"], bob.token) == created
    assert testapp.get("/api/articles").json["articlesCount"] == 1


def test_tags_are_optional_and_duplicates_count_once(testapp, alice):
    assert create_article(testapp, alice.token)["tagList"] == []
    article = create_article(testapp, alice.token, tagList=["b", "a", "b", "A", " a "])
    assert get_article(testapp, article["slug"])["tagList"] == ["A", "a", "b"]


def test_unknown_slug_is_404(testapp, alice):
    create_article(testapp, alice.token)
    assert get_article(testapp, "no-such-article", alice.token, status=404) == {
        "errors": {"article": ["not found"]}
    }


BLANK = "can't be blank"


@pytest.mark.parametrize(
    "article, errors",
    [
        ({"title": ""}, {"title": [BLANK]}),
        ({"description": ""}, {"description": [BLANK]}),
        ({"body": ""}, {"body": [BLANK]}),
        ({"title": "   "}, {"title": [BLANK]}),
        ({"body": None}, {"body": [BLANK]}),
        (
            {"title": "", "description": "\n", "body": None},
            {"title": [BLANK], "description": [BLANK], "body": [BLANK]},
        ),
        ({"title": 42}, {"title": ["must be a string"]}),
        ({"title": "t" * 256}, {"title": ["is too long (maximum is 255 characters)"]}),
        ({"tagList": "dragons"}, {"tagList": ["must be a list"]}),
        ({"tagList": None}, {"tagList": ["must be a list"]}),
        ({"tagList": ["ok", ""]}, {"tagList": [BLANK]}),
        ({"tagList": ["t" * 65]}, {"tagList": ["is too long (maximum is 64 characters)"]}),
        ({"tagList": [f"t{i}" for i in range(21)]}, {"tagList": ["has too many items (maximum is 20)"]}),
        ({"slug": "my-own-slug"}, {"slug": ["is not allowed"]}),
    ],
)
def test_an_invalid_article_is_422_and_nothing_is_written(testapp, db_engine, alice, article, errors):
    before = db_snapshot(db_engine)
    response = testapp.post_json(
        "/api/articles", {"article": article_fields(**article)}, headers=alice.headers, status=422
    )
    assert response.json == {"errors": errors}
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize("missing", ["title", "description", "body"])
def test_a_missing_field_is_blank(testapp, db_engine, alice, missing):
    before = db_snapshot(db_engine)
    fields = article_fields()
    del fields[missing]
    response = testapp.post_json("/api/articles", {"article": fields}, headers=alice.headers, status=422)
    assert response.json == {"errors": {missing: [BLANK]}}
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize(
    "body, status, errors",
    [
        ("{}", 422, {"article": [BLANK]}),
        ('{"article": "text"}', 422, {"article": ["must be an object"]}),
        ('{"article": {', 400, {"body": ["is not valid JSON"]}),
        ("", 422, {"body": [BLANK]}),
    ],
)
def test_a_malformed_request_body_writes_nothing(testapp, db_engine, alice, body, status, errors):
    before = db_snapshot(db_engine)
    response = testapp.post(
        "/api/articles", body, headers=alice.headers, content_type="application/json", status=status
    )
    assert response.json == {"errors": errors}
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize(
    "title, slug",
    [
        ("Hello, World!", "hello-world"),
        ("  Café Ünïcode -- 2024 ", "cafe-unicode-2024"),
        ("!!!", "article"),
    ],
)
def test_the_slug_comes_from_the_title(testapp, alice, title, slug):
    article = create_article(testapp, alice.token, title=title)
    assert article["slug"] == slug
    assert get_article(testapp, slug)["title"] == title


def test_duplicate_titles_get_distinct_slugs_each_reachable(testapp, alice, bob):
    first = create_article(testapp, alice.token, title="Same title", description="first")
    second = create_article(testapp, bob.token, title="Same title", description="second")

    assert first["slug"] == "same-title"
    assert second["slug"].startswith("same-title-") and second["slug"] != first["slug"]
    assert get_article(testapp, first["slug"])["description"] == "first"
    assert get_article(testapp, second["slug"])["description"] == "second"


def test_an_article_titled_feed_is_reachable(testapp, alice):
    # /api/articles/feed is the feed: an article there could never be read,
    # changed or deleted.
    article = create_article(testapp, alice.token, title="Feed")
    assert article["slug"] != "feed"
    assert get_article(testapp, article["slug"])["title"] == "Feed"
    testapp.delete(f"/api/articles/{article['slug']}", headers=alice.headers, status=204)


def test_author_following_as_each_viewer_sees_it(testapp, alice, bob, carol):
    article = create_article(testapp, alice.token)
    follow(testapp, bob.token, "alice")

    def author_seen_by(account):
        return get_article(testapp, article["slug"], account and account.token)["author"]

    assert author_seen_by(bob) == alice.profile(following=True)
    assert author_seen_by(carol) == alice.profile(following=False)
    assert author_seen_by(alice) == alice.profile(following=False)
    assert author_seen_by(None) == alice.profile(following=False)
