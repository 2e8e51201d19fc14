"""PUT /api/articles/{slug}."""

import datetime

import pytest

from ..helpers import (
    ISO_UTC_MS,
    add_comment,
    create_article,
    db_snapshot,
    favorite,
    get_article,
    set_timestamps,
)

LONG_AGO = datetime.datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
LONG_AGO_JSON = "2020-01-02T03:04:05.678Z"


def put(testapp, account, slug, changes, status=200):
    return testapp.put_json(
        f"/api/articles/{slug}", {"article": changes}, headers=account.headers, status=status
    ).json


@pytest.fixture
def article(testapp, db_engine, alice):
    """alice's article, created long ago (so that an update shows in updatedAt)."""
    created = create_article(
        testapp, alice.token, title="Original title", description="Original description",
        body="Original body", tagList=["one", "two"],
    )
    set_timestamps(db_engine, created["slug"], LONG_AGO)
    return get_article(testapp, created["slug"])


@pytest.mark.parametrize(
    "changes",
    [
        {"body": "New body"},
        {"description": "New description"},
        {"body": "New body", "description": "New description"},
    ],
)
def test_update_changes_only_the_given_fields(testapp, alice, article, changes):
    updated = put(testapp, alice, article["slug"], changes)["article"]

    assert updated == {**article, **changes, "updatedAt": updated["updatedAt"]}
    assert updated["createdAt"] == LONG_AGO_JSON
    assert ISO_UTC_MS.match(updated["updatedAt"]) and updated["updatedAt"] > LONG_AGO_JSON
    # A later request sees the same article.
    assert get_article(testapp, article["slug"]) == updated


def test_tags_are_kept_when_tag_list_is_omitted(testapp, alice, article):
    put(testapp, alice, article["slug"], {"body": "Body without touching tags"})
    assert get_article(testapp, article["slug"])["tagList"] == ["one", "two"]


@pytest.mark.parametrize(
    "tags, expected, all_tags",
    [
        ([], [], []),
        (["two", "three"], ["three", "two"], ["three", "two"]),
        (["zeta", "alpha", "zeta"], ["alpha", "zeta"], ["alpha", "zeta"]),
    ],
)
def test_tag_list_replaces_the_tags(testapp, alice, article, tags, expected, all_tags):
    assert put(testapp, alice, article["slug"], {"tagList": tags})["article"]["tagList"] == expected
    assert get_article(testapp, article["slug"])["tagList"] == expected
    assert testapp.get("/api/tags").json == {"tags": all_tags}


def test_a_new_title_gives_a_new_slug(testapp, alice, bob, article):
    favorite(testapp, bob.token, article["slug"])
    add_comment(testapp, bob.token, article["slug"], "Still here")

    updated = put(testapp, alice, article["slug"], {"title": "A brand new title"})["article"]

    assert updated["slug"] == "a-brand-new-title"
    assert updated["title"] == "A brand new title"
    assert get_article(testapp, article["slug"], status=404) == {"errors": {"article": ["not found"]}}
    # Same article under its new address: favorites and comments followed it.
    moved = get_article(testapp, "a-brand-new-title", bob.token)
    assert moved == {**updated, "favorited": True}
    assert moved["favoritesCount"] == 1
    comments = testapp.get("/api/articles/a-brand-new-title/comments").json["comments"]
    assert [comment["body"] for comment in comments] == ["Still here"]


@pytest.mark.parametrize("title", ["Original title", "ORIGINAL TITLE!", "original, title"])
def test_a_title_with_the_same_slug_keeps_the_slug(testapp, alice, article, title):
    updated = put(testapp, alice, article["slug"], {"title": title})["article"]
    assert (updated["slug"], updated["title"]) == ("original-title", title)
    assert get_article(testapp, "original-title")["title"] == title


def test_taking_another_articles_title_gives_a_distinct_slug(testapp, alice, bob, article):
    other = create_article(testapp, bob.token, title="Taken title")
    updated = put(testapp, alice, article["slug"], {"title": "Taken title"})["article"]

    assert updated["slug"] != other["slug"] and updated["slug"].startswith("taken-title-")
    assert get_article(testapp, other["slug"])["author"]["username"] == "bob"
    assert get_article(testapp, updated["slug"])["author"]["username"] == "alice"


BLANK = "can't be blank"


@pytest.mark.parametrize(
    "changes, errors",
    [
        ({"title": ""}, {"title": [BLANK]}),
        ({"description": "  "}, {"description": [BLANK]}),
        ({"body": ""}, {"body": [BLANK]}),
        ({"title": None}, {"title": [BLANK]}),
        ({"body": None}, {"body": [BLANK]}),
        ({"tagList": None}, {"tagList": ["must be a list"]}),
        ({"tagList": [""]}, {"tagList": [BLANK]}),
        ({"title": "New title", "body": ""}, {"body": [BLANK]}),
        ({"slug": "my-own-slug"}, {"slug": ["is not allowed"]}),
    ],
)
def test_an_invalid_update_is_422_and_changes_nothing(testapp, db_engine, alice, article, changes, errors):
    before = db_snapshot(db_engine)
    assert put(testapp, alice, article["slug"], changes, status=422) == {"errors": errors}
    assert db_snapshot(db_engine) == before
    assert get_article(testapp, article["slug"]) == article


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "Hijacked", "body": "hijacked", "tagList": []},
        {"title": "", "body": None},  # a stranger gets 403, not a validation report
    ],
)
def test_only_the_author_may_update(testapp, db_engine, bob, article, changes):
    before = db_snapshot(db_engine)
    assert put(testapp, bob, article["slug"], changes, status=403) == {
        "errors": {"article": ["forbidden"]}
    }
    assert db_snapshot(db_engine) == before
    assert get_article(testapp, article["slug"]) == article


def test_an_update_with_no_fields_changes_nothing(testapp, alice, article):
    assert put(testapp, alice, article["slug"], {}) == {"article": article}
    assert get_article(testapp, article["slug"])["updatedAt"] == LONG_AGO_JSON


def test_updating_an_unknown_article_is_404(testapp, db_engine, alice, article):
    before = db_snapshot(db_engine)
    assert put(testapp, alice, "no-such-article", {"body": "x"}, status=404) == {
        "errors": {"article": ["not found"]}
    }
    assert db_snapshot(db_engine) == before
