"""Bad input of every kind gets a clear JSON error and writes nothing.

Each case here was a bug found by probing or by schemathesis: a 500, an
exception escaping the application, or a body buffered before it was refused.
"""

import io

import pytest
import sqlalchemy as sa
import webob

from myapp.users.models import User

NEW_USER = {"username": "alice", "email": "alice@example.com", "password": "password123"}


def user_count(db_engine):
    with db_engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count(User.id)))


@pytest.mark.parametrize(
    "path, status, errors",
    [
        ("/api/articles?tag=%FF", 422, {"query": ["is not valid UTF-8"]}),
        ("/api/profiles/%FF", 400, {"request": ["is not valid UTF-8"]}),
        ("/api/articles?author=a%00b", 422, {"author": ["must not contain NUL characters"]}),
        ("/api/profiles/a%00b", 404, {"path": ["not found"]}),
        ("/api/articles/a%00b/comments", 404, {"path": ["not found"]}),
    ],
)
def test_undecodable_or_nul_urls_are_client_errors(testapp, path, status, errors):
    assert testapp.get(path, status=status).json == {"errors": errors}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("username", "a\u0000b", "must not contain NUL characters"),
        ("email", "a\u0000@b.c", "must not contain NUL characters"),
        ("username", "two words", "is invalid"),
        ("username", "   ", "can't be blank"),
        ("password", "\t\n        ", "can't be blank"),
    ],
)
def test_text_that_the_database_cannot_hold_or_that_is_blank_is_refused(
    testapp, db_engine, field, value, message
):
    body = {"user": {**NEW_USER, field: value}}
    response = testapp.post_json("/api/users", body, status=422)
    assert response.json == {"errors": {field: [message]}}
    assert user_count(db_engine) == 0


def test_nul_in_an_optional_field_is_refused(testapp):
    token = testapp.post_json("/api/users", {"user": NEW_USER}, status=201).json["user"]["token"]
    response = testapp.put_json(
        "/api/user", {"user": {"bio": "x\u0000"}}, headers={"Authorization": f"Token {token}"},
        status=422,
    )
    assert response.json == {"errors": {"bio": ["must not contain NUL characters"]}}


class Unreadable(io.RawIOBase):
    def readinto(self, buffer):
        raise AssertionError("the application read a body it was refusing")


def test_an_oversize_body_is_refused_unread(app, db_engine):
    request = webob.Request.blank("/api/users", method="POST", content_type="application/json")
    request.environ["wsgi.input"] = Unreadable()
    request.environ["CONTENT_LENGTH"] = str(50 * 1024 * 1024)
    response = request.get_response(app)
    assert response.status_int == 413
    assert response.json == {"errors": {"body": ["is too large (maximum is 1048576 bytes)"]}}
    assert user_count(db_engine) == 0


def test_a_wrong_method_answers_405_with_allow(testapp):
    response = testapp.patch_json("/api/user", {}, status=405)
    assert response.json == {"errors": {"method": ["not allowed"]}}
    assert response.headers["Allow"] == "GET, HEAD, PUT"


def test_a_tag_is_measured_as_sent_before_its_spaces_are_dropped(testapp):
    """schemathesis: a 65-character tag with a leading space passed the 64 limit."""
    token = testapp.post_json("/api/users", {"user": NEW_USER}, status=201).json["user"]["token"]
    article = {"title": "t", "description": "d", "body": "b", "tagList": [" " + "x" * 64]}
    response = testapp.post_json(
        "/api/articles", {"article": article}, headers={"Authorization": f"Token {token}"},
        status=422,
    )
    assert response.json == {"errors": {"tagList": ["is too long (maximum is 64 characters)"]}}
    assert testapp.get("/api/tags").json == {"tags": []}
