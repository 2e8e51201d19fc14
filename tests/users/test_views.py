"""Users, authentication and profiles through the HTTP API, as a client sees them.

Every change is checked by a later, separate request; every failed request is
checked to have written nothing.
"""

from unittest.mock import ANY

import pytest
import sqlalchemy as sa

from ..helpers import auth, login, register

MISSING_TOKEN = {"errors": {"token": ["is missing"]}}
PROFILE_NOT_FOUND = {"errors": {"profile": ["not found"]}}
BAD_CREDENTIALS = {"errors": {"credentials": ["invalid"]}}


def new_user(username="jake", email=None, password="password123"):
    return {
        "user": {
            "username": username,
            "email": email if email is not None else f"{username}@example.com",
            "password": password,
        }
    }


def user_body(username, email=None, bio=None, image=None, token=ANY):
    return {
        "user": {
            "email": email if email is not None else f"{username}@example.com",
            "token": token,
            "username": username,
            "bio": bio,
            "image": image,
        }
    }


def profile_body(username, following=False, bio=None, image=None):
    return {"profile": {"username": username, "bio": bio, "image": image, "following": following}}


def current_user(testapp, token):
    return testapp.get("/api/user", headers=auth(token)).json


def usernames_in_database(db_engine):
    with db_engine.connect() as connection:
        return sorted(connection.scalars(sa.text("SELECT username FROM users")))


def follows_in_database(db_engine):
    query = sa.text(
        "SELECT a.username, b.username FROM follows"
        " JOIN users a ON a.id = follows.follower_id"
        " JOIN users b ON b.id = follows.followee_id"
    )
    with db_engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(query))


# --- POST /api/users --------------------------------------------------------------


def test_register_answers_201_with_the_user_and_a_working_token(testapp, db_engine):
    response = testapp.post_json("/api/users", new_user("jake"), status=201)

    assert response.content_type == "application/json"
    assert response.json == user_body("jake")
    token = response.json["user"]["token"]
    assert isinstance(token, str) and token
    # The token authenticates straight away, and the user is in the database.
    assert current_user(testapp, token) == user_body("jake", token=token)
    assert usernames_in_database(db_engine) == ["jake"]


def test_registered_user_can_log_in(testapp):
    register(testapp, "jake")
    response = login(testapp, "jake@example.com")
    assert response.json == user_body("jake")
    token = response.json["user"]["token"]
    assert current_user(testapp, token)["user"]["username"] == "jake"


@pytest.mark.parametrize("field", ["username", "email", "password"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_register_with_a_blank_field_is_422_and_writes_nothing(testapp, db_engine, field, blank):
    body = new_user("jake")
    body["user"][field] = blank

    response = testapp.post_json("/api/users", body, status=422)

    assert response.json == {"errors": {field: ["can't be blank"]}}
    assert usernames_in_database(db_engine) == []
    login(testapp, "jake@example.com", status=401)
    register(testapp, "jake")  # nothing half-written blocks a correct registration


@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_register_without_a_field_is_422(testapp, db_engine, field):
    body = new_user("jake")
    del body["user"][field]
    response = testapp.post_json("/api/users", body, status=422)
    assert response.json == {"errors": {field: ["can't be blank"]}}
    assert usernames_in_database(db_engine) == []


def test_register_with_every_field_blank_lists_every_field(testapp):
    response = testapp.post_json("/api/users", {"user": {}}, status=422)
    assert response.json == {
        "errors": {
            "username": ["can't be blank"],
            "email": ["can't be blank"],
            "password": ["can't be blank"],
        }
    }


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("password", "short7c", "is too short (minimum is 8 characters)"),
        ("password", "p" * 257, "is too long (maximum is 256 characters)"),
        ("username", "u" * 65, "is too long (maximum is 64 characters)"),
        ("username", "has space", "is invalid"),
        ("username", "with/slash", "is invalid"),
        ("email", "not-an-email", "is invalid"),
    ],
)
def test_register_with_an_invalid_value_is_422(testapp, db_engine, field, value, message):
    body = new_user("jake")
    body["user"][field] = value
    response = testapp.post_json("/api/users", body, status=422)
    assert response.json == {"errors": {field: [message]}}
    assert usernames_in_database(db_engine) == []


def test_register_accepts_the_longest_allowed_values(testapp):
    username = "u" * 64
    email = "e" * 242 + "@example.com"  # 254 characters
    response = testapp.post_json(
        "/api/users", new_user(username, email=email, password="p" * 64), status=201
    )
    assert response.json == user_body(username, email=email)
    login(testapp, email, password="p" * 64)


def test_register_with_a_taken_username_is_409_and_writes_nothing(testapp, db_engine):
    register(testapp, "jake")

    response = testapp.post_json(
        "/api/users", new_user("jake", email="other@example.com"), status=409
    )

    assert response.json == {"errors": {"username": ["has already been taken"]}}
    assert usernames_in_database(db_engine) == ["jake"]
    login(testapp, "other@example.com", status=401)
    # The email of the refused registration is still free.
    register(testapp, "other", email="other@example.com")


def test_register_with_a_taken_email_is_409_and_writes_nothing(testapp, db_engine):
    register(testapp, "jake")

    response = testapp.post_json(
        "/api/users", new_user("other", email="jake@example.com"), status=409
    )

    assert response.json == {"errors": {"email": ["has already been taken"]}}
    assert usernames_in_database(db_engine) == ["jake"]
    # The first user's account is untouched: the old password still logs in.
    login(testapp, "jake@example.com")
    register(testapp, "other")


def test_register_with_a_taken_username_and_email_names_both(testapp):
    register(testapp, "jake")
    response = testapp.post_json("/api/users", new_user("jake"), status=409)
    assert response.json == {
        "errors": {"username": ["has already been taken"], "email": ["has already been taken"]}
    }


# --- POST /api/users/login --------------------------------------------------------


def test_login_with_a_wrong_password_is_401(testapp):
    register(testapp, "jake")
    response = login(testapp, "jake@example.com", password="wrongpassword", status=401)
    assert response.json == BAD_CREDENTIALS


def test_login_with_an_unknown_email_is_401_like_a_wrong_password(testapp):
    register(testapp, "jake")
    response = login(testapp, "nobody@example.com", status=401)
    assert response.json == BAD_CREDENTIALS


def test_login_is_not_fooled_by_another_users_password(testapp):
    register(testapp, "jake", password="jakes-password")
    register(testapp, "anna", password="annas-password")
    login(testapp, "jake@example.com", password="annas-password", status=401)
    login(testapp, "jake@example.com", password="jakes-password")


@pytest.mark.parametrize("field", ["email", "password"])
def test_login_with_a_blank_field_is_422(testapp, field):
    register(testapp, "jake")
    body = {"user": {"email": "jake@example.com", "password": "password123"}}
    body["user"][field] = ""
    response = testapp.post_json("/api/users/login", body, status=422)
    assert response.json == {"errors": {field: ["can't be blank"]}}


# --- GET /api/user ----------------------------------------------------------------


def test_get_current_user_returns_the_user_and_the_presented_token(testapp):
    token, _ = register(testapp, "jake")
    response = testapp.get("/api/user", headers=auth(token))
    assert response.json == user_body("jake", token=token)


def test_get_current_user_accepts_a_bearer_token(testapp):
    token, _ = register(testapp, "jake")
    response = testapp.get("/api/user", headers=auth(token, scheme="Bearer"))
    assert response.json == user_body("jake", token=token)


def test_each_token_authenticates_its_own_user(testapp):
    jake, _ = register(testapp, "jake")
    anna, _ = register(testapp, "anna")
    assert current_user(testapp, jake)["user"]["username"] == "jake"
    assert current_user(testapp, anna)["user"]["username"] == "anna"


def test_get_current_user_without_a_token_is_401_missing(testapp):
    response = testapp.get("/api/user", status=401)
    assert response.json == MISSING_TOKEN
    assert response.headers["WWW-Authenticate"] == "Token"


# --- PUT /api/user ----------------------------------------------------------------


def put_user(testapp, token, changes, status=200):
    return testapp.put_json("/api/user", {"user": changes}, headers=auth(token), status=status)


def test_update_bio_and_image_persists_and_leaves_the_rest(testapp):
    token, _ = register(testapp, "jake")

    response = put_user(testapp, token, {"bio": "I work at statefarm"})
    assert response.json == user_body("jake", bio="I work at statefarm", token=token)
    response = put_user(testapp, token, {"image": "https://example.com/jake.jpg"})
    assert response.json == user_body(
        "jake", bio="I work at statefarm", image="https://example.com/jake.jpg", token=token
    )

    assert current_user(testapp, token) == user_body(
        "jake", bio="I work at statefarm", image="https://example.com/jake.jpg", token=token
    )
    # The profile others see shows the change too.
    assert testapp.get("/api/profiles/jake").json == profile_body(
        "jake", bio="I work at statefarm", image="https://example.com/jake.jpg"
    )


@pytest.mark.parametrize("field", ["bio", "image"])
@pytest.mark.parametrize("empty", ["", "  ", None])
def test_update_bio_or_image_to_empty_or_null_stores_null(testapp, field, empty):
    token, _ = register(testapp, "jake")
    put_user(testapp, token, {field: "https://example.com/something"})

    response = put_user(testapp, token, {field: empty})

    assert response.json["user"][field] is None
    assert current_user(testapp, token)["user"][field] is None


def test_update_with_an_empty_user_object_changes_nothing(testapp):
    token, _ = register(testapp, "jake")
    put_user(testapp, token, {"bio": "kept"})
    assert put_user(testapp, token, {}).json == user_body("jake", bio="kept", token=token)
    assert current_user(testapp, token) == user_body("jake", bio="kept", token=token)


def test_update_username_and_email_persists_and_the_token_keeps_working(testapp):
    token, _ = register(testapp, "jake")
    put_user(testapp, token, {"bio": "kept"})

    response = put_user(testapp, token, {"username": "jacob", "email": "jacob@example.com"})

    assert response.json == user_body("jacob", bio="kept", token=token)
    assert current_user(testapp, token) == user_body("jacob", bio="kept", token=token)
    login(testapp, "jacob@example.com")
    login(testapp, "jake@example.com", status=401)
    testapp.get("/api/profiles/jacob")
    assert testapp.get("/api/profiles/jake", status=404).json == PROFILE_NOT_FOUND
    # The old name and email are free again.
    register(testapp, "jake")


def test_update_to_ones_own_username_and_email_is_allowed(testapp):
    token, _ = register(testapp, "jake")
    response = put_user(testapp, token, {"username": "jake", "email": "jake@example.com"})
    assert response.json == user_body("jake", token=token)


def test_update_password_changes_the_password_used_to_log_in(testapp):
    token, _ = register(testapp, "jake")

    response = put_user(testapp, token, {"password": "bonjour1"})

    assert response.json == user_body("jake", token=token)
    login(testapp, "jake@example.com", password="bonjour1")
    assert login(testapp, "jake@example.com", status=401).json == BAD_CREDENTIALS


def test_a_password_change_revokes_every_other_token(testapp):
    token, _ = register(testapp, "jake")
    laptop = login(testapp, "jake@example.com").json["user"]["token"]
    tablet = login(testapp, "jake@example.com").json["user"]["token"]  # within the same second

    assert put_user(testapp, token, {"password": "bonjour1"}).json["user"]["token"] == token

    assert current_user(testapp, token) == user_body("jake", token=token)
    for revoked in (laptop, tablet):
        answer = testapp.get("/api/user", headers=auth(revoked), status=401)
        assert answer.json == {"errors": {"token": ["is invalid"]}}
        put_user(testapp, revoked, {"bio": "hijacked"}, status=401)
    # A token issued after the change works, and changing the password from it
    # revokes the first one in turn.
    after = login(testapp, "jake@example.com", password="bonjour1").json["user"]["token"]
    put_user(testapp, after, {"password": "bonjour2"})
    testapp.get("/api/user", headers=auth(token), status=401)
    assert current_user(testapp, after) == user_body("jake", token=after)


def test_changes_other_than_the_password_keep_every_token(testapp):
    token, _ = register(testapp, "jake")
    other_device = login(testapp, "jake@example.com").json["user"]["token"]

    put_user(testapp, token, {"username": "jacob", "email": "jacob@example.com", "bio": "hi"})

    assert current_user(testapp, other_device) == user_body("jacob", bio="hi", token=other_device)


def test_update_password_accepts_64_characters(testapp):
    token, _ = register(testapp, "jake")
    put_user(testapp, token, {"password": "a" * 64})
    login(testapp, "jake@example.com", password="a" * 64)


@pytest.mark.parametrize(
    "changes, errors",
    [
        ({"email": ""}, {"email": ["can't be blank"]}),
        ({"username": ""}, {"username": ["can't be blank"]}),
        ({"password": ""}, {"password": ["can't be blank"]}),
        ({"email": None}, {"email": ["can't be blank"]}),
        ({"username": None}, {"username": ["can't be blank"]}),
        ({"password": None}, {"password": ["can't be blank"]}),
        ({"password": "short7c"}, {"password": ["is too short (minimum is 8 characters)"]}),
        ({"email": "nope"}, {"email": ["is invalid"]}),
        ({"username": "two words"}, {"username": ["is invalid"]}),
        ({"bio": 5}, {"bio": ["must be a string"]}),
        ({"image": "x" * 2049}, {"image": ["is too long (maximum is 2048 characters)"]}),
    ],
)
def test_an_invalid_update_is_422_and_changes_nothing(testapp, changes, errors):
    token, _ = register(testapp, "jake")

    # A valid change in the same request is not applied either.
    response = put_user(testapp, token, {"bio": "new bio", **changes}, status=422)

    assert response.json == {"errors": errors}
    assert current_user(testapp, token) == user_body("jake", token=token)
    login(testapp, "jake@example.com")


@pytest.mark.parametrize("field", ["username", "email"])
def test_update_to_a_taken_username_or_email_is_409_and_changes_nothing(testapp, field):
    token, _ = register(testapp, "jake")
    register(testapp, "anna")
    taken = {"username": "anna", "email": "anna@example.com"}[field]

    response = put_user(testapp, token, {"bio": "new bio", field: taken}, status=409)

    assert response.json == {"errors": {field: ["has already been taken"]}}
    assert current_user(testapp, token) == user_body("jake", token=token)
    assert login(testapp, "anna@example.com").json["user"]["username"] == "anna"


def test_update_without_a_token_is_401_and_changes_nothing(testapp):
    token, _ = register(testapp, "jake")
    response = testapp.put_json("/api/user", {"user": {"bio": "test"}}, status=401)
    assert response.json == MISSING_TOKEN
    assert current_user(testapp, token)["user"]["bio"] is None


# --- GET /api/profiles/{username} -------------------------------------------------


def test_get_a_profile_without_a_token(testapp):
    register(testapp, "celeb")
    assert testapp.get("/api/profiles/celeb").json == profile_body("celeb")


def test_get_a_profile_with_a_token(testapp):
    token, _ = register(testapp, "fan")
    register(testapp, "celeb")
    response = testapp.get("/api/profiles/celeb", headers=auth(token))
    assert response.json == profile_body("celeb", following=False)


def test_get_an_unknown_profile_is_404(testapp):
    token, _ = register(testapp, "fan")
    assert testapp.get("/api/profiles/nobody", status=404).json == PROFILE_NOT_FOUND
    response = testapp.get("/api/profiles/nobody", headers=auth(token), status=404)
    assert response.json == PROFILE_NOT_FOUND


def test_a_profile_is_found_by_its_exact_username(testapp):
    register(testapp, "celeb")
    testapp.get("/api/profiles/cele", status=404)
    testapp.get("/api/profiles/celebrity", status=404)
    testapp.get("/api/profiles/cel%25", status=404)  # "cel%" is not a pattern


def test_a_profile_with_a_non_ascii_username(testapp):
    register(testapp, "jöhn", email="john@example.com")
    assert testapp.get("/api/profiles/j%C3%B6hn").json == profile_body("jöhn")


# --- POST/DELETE /api/profiles/{username}/follow ----------------------------------


def test_follow_then_unfollow_persists_for_the_follower_only(testapp, db_engine):
    fan, _ = register(testapp, "fan")
    other, _ = register(testapp, "other")
    register(testapp, "celeb")

    response = testapp.post("/api/profiles/celeb/follow", headers=auth(fan))
    assert response.json == profile_body("celeb", following=True)
    assert testapp.get("/api/profiles/celeb", headers=auth(fan)).json == profile_body(
        "celeb", following=True
    )
    # Not followed for someone else, nor for an anonymous reader.
    assert testapp.get("/api/profiles/celeb", headers=auth(other)).json["profile"]["following"] is False
    assert testapp.get("/api/profiles/celeb").json["profile"]["following"] is False
    # Following is one way.
    assert testapp.get("/api/profiles/fan", headers=auth(fan)).json["profile"]["following"] is False
    assert follows_in_database(db_engine) == [("fan", "celeb")]

    response = testapp.delete("/api/profiles/celeb/follow", headers=auth(fan))
    assert response.json == profile_body("celeb", following=False)
    assert testapp.get("/api/profiles/celeb", headers=auth(fan)).json == profile_body(
        "celeb", following=False
    )
    assert follows_in_database(db_engine) == []


def test_follow_shows_the_followed_users_bio_and_image(testapp):
    fan, _ = register(testapp, "fan")
    celeb, _ = register(testapp, "celeb")
    put_user(testapp, celeb, {"bio": "famous", "image": "https://example.com/c.jpg"})
    response = testapp.post("/api/profiles/celeb/follow", headers=auth(fan))
    assert response.json == profile_body(
        "celeb", following=True, bio="famous", image="https://example.com/c.jpg"
    )


def test_follow_twice_is_idempotent(testapp, db_engine):
    fan, _ = register(testapp, "fan")
    register(testapp, "celeb")
    testapp.post("/api/profiles/celeb/follow", headers=auth(fan))
    response = testapp.post("/api/profiles/celeb/follow", headers=auth(fan))
    assert response.json == profile_body("celeb", following=True)
    assert follows_in_database(db_engine) == [("fan", "celeb")]
    # One unfollow undoes it.
    testapp.delete("/api/profiles/celeb/follow", headers=auth(fan))
    assert testapp.get("/api/profiles/celeb", headers=auth(fan)).json["profile"]["following"] is False


def test_unfollow_of_a_profile_not_followed_is_200(testapp, db_engine):
    fan, _ = register(testapp, "fan")
    register(testapp, "celeb")
    response = testapp.delete("/api/profiles/celeb/follow", headers=auth(fan))
    assert response.json == profile_body("celeb", following=False)
    assert follows_in_database(db_engine) == []


def test_following_yourself_is_403_and_writes_nothing(testapp, db_engine):
    fan, _ = register(testapp, "fan")
    response = testapp.post("/api/profiles/fan/follow", headers=auth(fan), status=403)
    assert response.json == {"errors": {"profile": ["can't follow yourself"]}}
    assert follows_in_database(db_engine) == []
    assert testapp.get("/api/profiles/fan", headers=auth(fan)).json["profile"]["following"] is False


@pytest.mark.parametrize("method", ["post", "delete"])
def test_follow_or_unfollow_of_an_unknown_profile_is_404(testapp, db_engine, method):
    fan, _ = register(testapp, "fan")
    response = getattr(testapp, method)("/api/profiles/nobody/follow", headers=auth(fan), status=404)
    assert response.json == PROFILE_NOT_FOUND
    assert follows_in_database(db_engine) == []


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize("target", ["celeb", "nobody"])
def test_follow_or_unfollow_without_a_token_is_401_missing(testapp, db_engine, method, target):
    register(testapp, "celeb")
    response = getattr(testapp, method)(f"/api/profiles/{target}/follow", status=401)
    assert response.json == MISSING_TOKEN
    assert follows_in_database(db_engine) == []


def test_a_follow_survives_a_username_change(testapp):
    """Follows are between users, not names: renaming keeps them."""
    fan, _ = register(testapp, "fan")
    celeb, _ = register(testapp, "celeb")
    testapp.post("/api/profiles/celeb/follow", headers=auth(fan))
    put_user(testapp, celeb, {"username": "superstar"})
    response = testapp.get("/api/profiles/superstar", headers=auth(fan))
    assert response.json == profile_body("superstar", following=True)


# --- wrong methods ----------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/users"),
        ("get", "/api/users/login"),
        ("delete", "/api/user"),
        ("post", "/api/user"),
        ("put", "/api/profiles/celeb"),
        ("get", "/api/profiles/celeb/follow"),
    ],
)
def test_a_wrong_method_is_405_in_json(testapp, method, path):
    response = getattr(testapp, method)(path, status=405)
    assert response.json == {"errors": {"method": ["not allowed"]}}
