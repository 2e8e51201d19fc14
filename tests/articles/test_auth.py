"""Tokens on the articles endpoints: 401 without one, 401 for a bad one, and nothing written."""

import pytest

from ..helpers import article_fields, create_article, db_snapshot, send

PROTECTED = [
    ("POST", "/api/articles", {"article": article_fields(title="Sneaky")}),
    ("PUT", "/api/articles/mine", {"article": {"body": "hijacked"}}),
    ("DELETE", "/api/articles/mine", None),
    ("GET", "/api/articles/feed", None),
    ("POST", "/api/articles/mine/favorite", None),
    ("DELETE", "/api/articles/mine/favorite", None),
]


@pytest.fixture
def mine(testapp, alice):
    return create_article(testapp, alice.token, title="Mine", tagList=["t"])


@pytest.mark.parametrize("method, path, body", PROTECTED)
def test_no_token_is_401_and_writes_nothing(testapp, db_engine, mine, method, path, body):
    before = db_snapshot(db_engine)
    response = send(testapp, method, path, body, {}, 401)
    assert response.json == {"errors": {"token": ["is missing"]}}
    assert response.headers["WWW-Authenticate"] == "Token"
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize(
    "method, path, body",
    PROTECTED + [("GET", "/api/articles", None), ("GET", "/api/articles/mine", None)],
)
@pytest.mark.parametrize(
    "header", ["Token not-a-jwt", "Token ", "Basic YWxpY2U6c2VjcmV0"], ids=["garbage", "empty", "basic"]
)
def test_a_bad_token_is_401_and_writes_nothing(testapp, db_engine, mine, method, path, body, header):
    before = db_snapshot(db_engine)
    response = send(testapp, method, path, body, {"Authorization": header}, 401)
    assert response.json == {"errors": {"token": ["is invalid"]}}
    assert db_snapshot(db_engine) == before


def test_a_bearer_token_works_too(testapp, alice, mine):
    response = testapp.post(
        "/api/articles/mine/favorite", headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert response.json["article"]["favorited"] is True
