"""Usernames and emails are one account name regardless of case (Unicode case
folding), for registration, updates, login, profiles and article filters."""

from urllib.parse import quote

import pytest

from ..helpers import auth, create_article, list_articles, login, register
from .test_views import new_user


def taken(testapp, body, field):
    response = testapp.post_json("/api/users", body, status=409)
    assert response.json == {"errors": {field: ["has already been taken"]}}


@pytest.mark.parametrize(
    "first, second", [("Alice", "alice"), ("alice", "ALICE"), ("Straße", "STRASSE"), ("Änne", "äNNE")]
)
def test_a_username_differing_only_in_case_is_taken(testapp, db_engine, first, second):
    register(testapp, first)
    taken(testapp, new_user(second, email="other@example.com"), "username")
    assert testapp.get(f"/api/profiles/{quote(second)}").json["profile"]["username"] == first


@pytest.mark.parametrize("first, second", [("A@x.io", "a@x.io"), ("jo@example.com", "JO@EXAMPLE.COM")])
def test_an_email_differing_only_in_case_is_taken(testapp, first, second):
    register(testapp, "first", email=first)
    taken(testapp, new_user("second", email=second), "email")


def test_an_update_to_another_users_name_in_other_case_is_409(testapp):
    register(testapp, "alice")
    token, _ = register(testapp, "bob")
    for field, value in (("username", "ALICE"), ("email", "Alice@Example.COM")):
        response = testapp.put_json("/api/user", {"user": {field: value}}, headers=auth(token),
                                    status=409)
        assert response.json == {"errors": {field: ["has already been taken"]}}


def test_a_user_may_change_the_case_of_their_own_name(testapp):
    token, _ = register(testapp, "alice")
    answer = testapp.put_json("/api/user", {"user": {"username": "Alice", "email": "ALICE@example.com"}},
                              headers=auth(token)).json["user"]
    assert (answer["username"], answer["email"]) == ("Alice", "ALICE@example.com")


def test_login_takes_the_email_in_any_case_and_answers_it_as_registered(testapp):
    register(testapp, "alice", email="Alice@Example.com")
    for email in ("alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"):
        assert login(testapp, email).json["user"]["email"] == "Alice@Example.com"


def test_profiles_follows_and_filters_find_a_username_in_any_case(testapp):
    alice_token, _ = register(testapp, "Alice")
    bob_token, _ = register(testapp, "bob")
    slug = create_article(testapp, alice_token)["slug"]
    testapp.post(f"/api/articles/{slug}/favorite", headers=auth(bob_token))

    assert testapp.get("/api/profiles/ALICE").json["profile"]["username"] == "Alice"
    followed = testapp.post("/api/profiles/alice/follow", headers=auth(bob_token)).json
    assert followed["profile"] == {"username": "Alice", "bio": None, "image": None, "following": True}
    assert [a["slug"] for a in list_articles(testapp, author="aLiCe")["articles"]] == [slug]
    assert [a["slug"] for a in list_articles(testapp, favorited="BOB")["articles"]] == [slug]
