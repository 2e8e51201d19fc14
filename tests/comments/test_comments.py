"""GET and POST /api/articles/{slug}/comments, DELETE /api/articles/{slug}/comments/{id}."""

import datetime

import pytest

from ..helpers import (
    ISO_UTC_MS,
    add_comment,
    create_article,
    db_snapshot,
    follow,
    list_comments,
    send,
)

BLANK = "can't be blank"
NOT_FOUND = {
    "article": {"errors": {"article": ["not found"]}},
    "comment": {"errors": {"comment": ["not found"]}},
}


@pytest.fixture
def article(testapp, alice):
    return create_article(testapp, alice.token, title="Discussed")


def comments_url(slug="discussed", comment_id=None):
    url = f"/api/articles/{slug}/comments"
    return url if comment_id is None else f"{url}/{comment_id}"


def delete(testapp, account, comment_id, slug="discussed", status=204):
    headers = account.headers if account else {}
    return testapp.delete(comments_url(slug, comment_id), headers=headers, status=status)


def test_post_answers_201_with_the_comment(testapp, bob, article):
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(milliseconds=1)
    response = testapp.post_json(
        comments_url(), {"comment": {"body": "Thank you so much!"}}, headers=bob.headers, status=201
    )
    comment = response.json["comment"]
    assert response.json == {
        "comment": {
            "id": comment["id"],
            "createdAt": comment["createdAt"],
            "updatedAt": comment["createdAt"],
            "body": "Thank you so much!",
            "author": bob.profile(),
        }
    }
    assert isinstance(comment["id"], int)
    assert ISO_UTC_MS.match(comment["createdAt"])
    created = datetime.datetime.strptime(comment["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert created.replace(tzinfo=datetime.timezone.utc) >= before


def test_comments_persist_oldest_first_for_anyone(testapp, alice, bob, article):
    first = add_comment(testapp, bob.token, "discussed", "First")
    second = add_comment(testapp, alice.token, "discussed", "Second")

    assert list_comments(testapp, "discussed") == [first, second]
    assert list_comments(testapp, "discussed", alice.token) == [first, second]


def test_an_article_without_comments(testapp, article):
    assert testapp.get(comments_url()).json == {"comments": []}


def test_comments_belong_to_their_article(testapp, alice, bob, article):
    create_article(testapp, alice.token, title="Other")
    add_comment(testapp, bob.token, "other", "Elsewhere")
    mine = add_comment(testapp, bob.token, "discussed", "Here")
    assert list_comments(testapp, "discussed") == [mine]


def test_author_following_as_each_viewer_sees_it(testapp, alice, bob, carol, article):
    add_comment(testapp, bob.token, "discussed", "by bob")
    add_comment(testapp, carol.token, "discussed", "by carol")
    follow(testapp, alice.token, "bob")

    def following(account):
        comments = list_comments(testapp, "discussed", account and account.token)
        return [comment["author"]["following"] for comment in comments]

    assert following(alice) == [True, False]
    assert following(carol) == [False, False]
    assert following(None) == [False, False]


@pytest.mark.parametrize(
    "comment, errors",
    [
        ({"body": ""}, {"body": [BLANK]}),
        ({"body": " \n\t"}, {"body": [BLANK]}),
        ({"body": None}, {"body": [BLANK]}),
        ({}, {"body": [BLANK]}),
        ({"body": 7}, {"body": ["must be a string"]}),
        ({"body": "x" * 10_001}, {"body": ["is too long (maximum is 10000 characters)"]}),
        ({"body": "ok", "id": 5}, {"id": ["is not allowed"]}),
    ],
)
def test_an_invalid_comment_is_422_and_writes_nothing(testapp, db_engine, bob, article, comment, errors):
    before = db_snapshot(db_engine)
    response = testapp.post_json(comments_url(), {"comment": comment}, headers=bob.headers, status=422)
    assert response.json == {"errors": errors}
    assert db_snapshot(db_engine) == before


def test_no_comment_envelope_is_422(testapp, db_engine, bob, article):
    before = db_snapshot(db_engine)
    response = testapp.post_json(comments_url(), {"body": "x"}, headers=bob.headers, status=422)
    assert response.json == {"errors": {"comment": [BLANK], "body": ["is not allowed"]}}
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_comments_of_an_unknown_article_are_404(testapp, db_engine, bob, article, method):
    before = db_snapshot(db_engine)
    body = {"comment": {"body": "orphan"}} if method == "POST" else None
    response = send(testapp, method, comments_url("no-such-article"), body, bob.headers, 404)
    assert response.json == NOT_FOUND["article"]
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", comments_url(), {"comment": {"body": "anonymous"}}),
        ("DELETE", comments_url(comment_id=1), None),
    ],
)
def test_no_token_is_401_and_writes_nothing(testapp, db_engine, bob, article, method, path, body):
    add_comment(testapp, bob.token, "discussed")
    before = db_snapshot(db_engine)
    response = send(testapp, method, path, body, status=401)
    assert response.json == {"errors": {"token": ["is missing"]}}
    assert db_snapshot(db_engine) == before


def test_delete_removes_only_that_comment(testapp, bob, article):
    first = add_comment(testapp, bob.token, "discussed", "First")
    second = add_comment(testapp, bob.token, "discussed", "Second")

    response = delete(testapp, bob, first["id"])

    assert response.body == b""
    assert list_comments(testapp, "discussed") == [second]
    assert delete(testapp, bob, first["id"], status=404).json == NOT_FOUND["comment"]


@pytest.mark.parametrize("deleter", ["alice", "carol"], ids=["article-author", "stranger"])
def test_only_the_comment_author_may_delete_it(testapp, db_engine, request, bob, article, deleter):
    deleter = request.getfixturevalue(deleter)
    comment = add_comment(testapp, bob.token, "discussed", "bob's")
    before = db_snapshot(db_engine)

    response = delete(testapp, deleter, comment["id"], status=403)

    assert response.json == {"errors": {"comment": ["forbidden"]}}
    assert db_snapshot(db_engine) == before
    assert list_comments(testapp, "discussed") == [comment]


def test_a_comment_is_deleted_only_through_its_own_article(testapp, db_engine, alice, bob, article):
    create_article(testapp, alice.token, title="Other")
    comment = add_comment(testapp, bob.token, "other", "on other")
    before = db_snapshot(db_engine)

    assert delete(testapp, bob, comment["id"], slug="discussed", status=404).json == NOT_FOUND["comment"]
    assert db_snapshot(db_engine) == before
    assert list_comments(testapp, "other") == [comment]


@pytest.mark.parametrize(
    "slug, comment_id, expected",
    [
        ("discussed", "999999", NOT_FOUND["comment"]),
        ("discussed", "2147483648", NOT_FOUND["comment"]),  # past a 32-bit id
        ("discussed", "99999999999999999999", NOT_FOUND["comment"]),  # past a 64-bit id
        ("no-such-article", "{id}", NOT_FOUND["article"]),
        # Not an integer: no such path at all.
        ("discussed", "abc", {"errors": {"path": ["not found"]}}),
        ("discussed", "-1", {"errors": {"path": ["not found"]}}),
        ("discussed", "1.0", {"errors": {"path": ["not found"]}}),
    ],
)
def test_deleting_a_comment_that_is_not_there_is_404(
    testapp, db_engine, bob, article, slug, comment_id, expected
):
    comment = add_comment(testapp, bob.token, "discussed")
    before = db_snapshot(db_engine)

    response = delete(testapp, bob, comment_id.format(id=comment["id"]), slug=slug, status=404)

    assert response.json == expected
    assert db_snapshot(db_engine) == before
