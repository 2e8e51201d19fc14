"""The list and the feed check the viewer's token in the page's own statement.

They answer what ``request.user`` answers (myapp.users.current) without a
statement for the user's row first: 401 ``token: is invalid`` for a revoked
token or one whose user is gone, the page for a current one, including the
token that changed the password.
"""

import pytest
import sqlalchemy as sa

from myapp.users.models import User

from ..helpers import auth, create_article, login, register

INVALID = {"errors": {"token": ["is invalid"]}}
PAGES = ("/api/articles", "/api/articles/feed")


def change_password(testapp, token):
    testapp.put_json("/api/user", {"user": {"password": "bonjour1"}}, headers=auth(token))


@pytest.mark.parametrize("path", PAGES)
def test_a_revoked_token_reads_no_page(testapp, path):
    token, _ = register(testapp, "jake")
    create_article(testapp, token)
    other_device = login(testapp, "jake@example.com").json["user"]["token"]
    testapp.get(path, headers=auth(other_device), status=200)

    change_password(testapp, token)

    assert testapp.get(path, headers=auth(other_device), status=401).json == INVALID
    testapp.get(path, headers=auth(token), status=200)  # the token that changed it


@pytest.mark.parametrize("path", PAGES)
def test_the_token_of_a_deleted_user_reads_no_page(testapp, db_engine, path):
    token, _ = register(testapp, "jake")
    with db_engine.begin() as connection:
        connection.execute(sa.delete(User.__table__).where(User.__table__.c.username == "jake"))
    assert testapp.get(path, headers=auth(token), status=401).json == INVALID


def test_the_feed_without_a_token_is_still_missing_one(testapp):
    answer = testapp.get("/api/articles/feed", status=401)
    assert answer.json == {"errors": {"token": ["is missing"]}}
