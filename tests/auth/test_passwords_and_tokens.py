"""Passwords and tokens, seen from outside: the database and the HTTP API.

Passwords are stored as Argon2id hashes and never leave the server; a token
is accepted only when it is an unexpired HS256 JWT signed with our secret and
naming a user that exists. Anything else that is presented as a token answers
401 ``{"errors": {"token": ["is invalid"]}}``, whatever the route.
"""

import base64
import datetime
import json

import jwt
import pytest
import sqlalchemy as sa

from ..conftest import BASE_SETTINGS
from ..helpers import DEFAULT_PASSWORD, auth, login, register
from ..contract import ContractTestApp

SECRET = BASE_SETTINGS["myapp.jwt_secret"]
INVALID_TOKEN = {"errors": {"token": ["is invalid"]}}


def password_hash(db_engine, username):
    with db_engine.connect() as connection:
        return connection.scalar(
            sa.text("SELECT password_hash FROM users WHERE username = :name"), {"name": username}
        )


def user_id(db_engine, username):
    with db_engine.connect() as connection:
        return connection.scalar(
            sa.text("SELECT id FROM users WHERE username = :name"), {"name": username}
        )


def make_token(sub, expires_in=3600, secret=SECRET, algorithm="HS256", **claims):
    now = datetime.datetime.now(datetime.timezone.utc)
    payload = {"sub": str(sub), "ver": 0, "jti": "a-test-token",
               "iat": now, "exp": now + datetime.timedelta(seconds=expires_in)}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(sub):
    """An ``alg: none`` JWT: a header, the claims, and no signature."""
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
    header = b64({"alg": "none", "typ": "JWT"})
    return f"{header}.{b64({'sub': str(sub), 'iat': now, 'exp': now + 3600})}."


def tampered(token):
    """The same header and claims with one character of the signature changed."""
    head, claims, signature = token.split(".")
    swapped = "A" if signature[0] != "A" else "B"
    return f"{head}.{claims}.{swapped}{signature[1:]}"


def with_claims_changed(token, **changes):
    """The signature of ``token`` on claims it was not issued for."""
    head, claims, signature = token.split(".")
    padded = claims + "=" * (-len(claims) % 4)
    values = json.loads(base64.urlsafe_b64decode(padded))
    values.update(changes)
    return f"{head}.{b64(values)}.{signature}"


# --- passwords --------------------------------------------------------------------


def test_the_password_is_stored_as_an_argon2id_hash(testapp, db_engine):
    register(testapp, "jake", password="correct horse battery")

    stored = password_hash(db_engine, "jake")

    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored


def test_two_users_with_the_same_password_get_different_hashes(testapp, db_engine):
    register(testapp, "jake")
    register(testapp, "anna")
    assert password_hash(db_engine, "jake") != password_hash(db_engine, "anna")


def test_a_changed_password_is_stored_as_a_new_argon2id_hash(testapp, db_engine):
    token, _ = register(testapp, "jake")
    before = password_hash(db_engine, "jake")

    testapp.put_json("/api/user", {"user": {"password": "new password"}}, headers=auth(token))

    after = password_hash(db_engine, "jake")
    assert after.startswith("$argon2id$") and after != before
    assert "new password" not in after


def test_login_upgrades_the_hash_when_the_cost_settings_rise(make_app, db_engine):
    cheap = ContractTestApp(make_app())
    register(cheap, "jake")
    assert "t=1" in password_hash(db_engine, "jake")

    costlier = ContractTestApp(make_app(**{"myapp.argon2_time_cost": "2"}))
    login(costlier, "jake@example.com")

    upgraded = password_hash(db_engine, "jake")
    assert upgraded.startswith("$argon2id$") and "t=2" in upgraded
    # The upgraded hash still checks the same password, and only that one.
    login(costlier, "jake@example.com")
    login(costlier, "jake@example.com", password="wrong password", status=401)


def test_a_failed_login_does_not_touch_the_stored_hash(make_app, db_engine):
    cheap = ContractTestApp(make_app())
    register(cheap, "jake")
    before = password_hash(db_engine, "jake")
    costlier = ContractTestApp(make_app(**{"myapp.argon2_time_cost": "2"}))
    login(costlier, "jake@example.com", password="wrong password", status=401)
    assert password_hash(db_engine, "jake") == before


def test_no_response_ever_contains_the_password_or_its_hash(testapp, db_engine):
    password, new_password = "secret-password-1", "secret-password-2"
    token, body = register(testapp, "jake", password=password)
    other, _ = register(testapp, "anna")
    changed = testapp.put_json(
        "/api/user", {"user": {"password": new_password}}, headers=auth(token)
    ).json
    responses = [
        body,
        login(testapp, "jake@example.com", password=new_password).json,
        testapp.get("/api/user", headers=auth(token)).json,
        changed,
        testapp.put_json("/api/user", {"user": {"bio": "hi"}}, headers=auth(token)).json,
        login(testapp, "jake@example.com", password=new_password).json,
        testapp.get("/api/profiles/jake").json,
        testapp.post("/api/profiles/jake/follow", headers=auth(other)).json,
        testapp.delete("/api/profiles/jake/follow", headers=auth(other)).json,
        login(testapp, "jake@example.com", password=password, status=401).json,
    ]
    stored = password_hash(db_engine, "jake")
    for response in responses:
        text = json.dumps(response)
        for secret in (password, new_password, stored, "$argon2", "password_hash"):
            assert secret not in text
    for response in responses[:6]:
        assert set(response["user"]) == {"email", "token", "username", "bio", "image"}


# --- tokens -----------------------------------------------------------------------


def test_an_issued_token_is_an_hs256_jwt_naming_the_user(testapp, db_engine):
    token, _ = register(testapp, "jake")

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user_id(db_engine, "jake"))
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600


def test_a_token_made_with_the_secret_for_an_existing_user_is_accepted(testapp, db_engine):
    register(testapp, "jake")
    token = make_token(user_id(db_engine, "jake"))
    assert testapp.get("/api/user", headers=auth(token)).json["user"]["username"] == "jake"


def test_the_token_expiry_comes_from_the_settings(make_app):
    testapp = ContractTestApp(make_app(**{"myapp.jwt_expiry_seconds": "60"}))
    token, _ = register(testapp, "jake")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "bearer"])
def test_token_and_bearer_schemes_are_accepted(testapp, scheme):
    token, _ = register(testapp, "jake")
    response = testapp.get("/api/user", headers=auth(token, scheme=scheme))
    assert response.json["user"]["username"] == "jake"


BAD_TOKENS = {
    "tampered signature": lambda token, uid: tampered(token),
    "claims changed under the signature": lambda token, uid: with_claims_changed(
        token, sub=str(uid + 1)
    ),
    "expired": lambda token, uid: make_token(uid, expires_in=-10),
    "signed with another secret": lambda token, uid: make_token(uid, secret="x" * 40),
    "alg none": lambda token, uid: unsigned_token(uid),
    "HS512 with our secret": lambda token, uid: make_token(uid, algorithm="HS512"),
    "without exp": lambda token, uid: make_token(uid, exp=None),
    "without iat": lambda token, uid: make_token(uid, iat=None),
    "without ver (issued before revocation existed)": lambda token, uid: make_token(uid, ver=None),
    "without jti": lambda token, uid: make_token(uid, jti=None),
    "ver not a number": lambda token, uid: make_token(uid, ver="0"),
    "an older ver": lambda token, uid: make_token(uid, ver=-1),
    "sub not a number": lambda token, uid: make_token("jake"),
    "user id that does not exist": lambda token, uid: make_token(uid + 1000),
    "user id zero": lambda token, uid: make_token(0),
    "user id out of range": lambda token, uid: make_token(10**20),
    "garbage": lambda token, uid: "not-a-jwt",
    "garbage with dots": lambda token, uid: "a.b.c",
}


@pytest.fixture
def jake(testapp, db_engine):
    """A registered user: (token, id)."""
    token, _ = register(testapp, "jake")
    register(testapp, "celeb")
    return token, user_id(db_engine, "jake")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512
@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_401_invalid_on_every_route_that_reads_the_user(testapp, jake, kind):
    token = BAD_TOKENS[kind](*jake)
    headers = auth(token)
    for response in [
        testapp.get("/api/user", headers=headers, status=401),
        testapp.put_json("/api/user", {"user": {"bio": "hacked"}}, headers=headers, status=401),
        testapp.get("/api/profiles/celeb", headers=headers, status=401),
        testapp.post("/api/profiles/celeb/follow", headers=headers, status=401),
        testapp.delete("/api/profiles/celeb/follow", headers=headers, status=401),
    ]:
        assert response.json == INVALID_TOKEN
        assert response.headers["WWW-Authenticate"] == "Token"
    # Nothing was written on the user's behalf.
    assert testapp.get("/api/user", headers=auth(jake[0])).json["user"]["bio"] is None


@pytest.mark.parametrize(
    "header", ["Token", "Token ", "Token    ", "Bearer", "Basic amFrZTpwYXNzd29yZA==", "garbage"]
)
def test_a_malformed_authorization_header_is_401_invalid(testapp, jake, header):
    response = testapp.get("/api/user", headers={"Authorization": header}, status=401)
    assert response.json == INVALID_TOKEN
    assert response.headers["WWW-Authenticate"] == "Token"


def test_the_token_of_a_deleted_user_is_401_invalid(testapp, jake, db_engine):
    token, uid = jake
    with db_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": uid})
    response = testapp.get("/api/user", headers=auth(token), status=401)
    assert response.json == INVALID_TOKEN


def test_an_unknown_email_and_a_wrong_password_answer_alike(testapp):
    register(testapp, "jake")
    unknown = login(testapp, "nobody@example.com", status=401)
    wrong = login(testapp, "jake@example.com", password="not-" + DEFAULT_PASSWORD, status=401)
    assert unknown.json == wrong.json == {"errors": {"credentials": ["invalid"]}}
    assert unknown.headers.get("WWW-Authenticate") == wrong.headers.get("WWW-Authenticate")
