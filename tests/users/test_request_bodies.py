"""Bodies that are not what the endpoints expect: every one a clear 4xx, nothing written."""

import pytest
import sqlalchemy as sa

from ..helpers import auth, post_raw, register
from ..contract import ContractTestApp

NOT_JSON = {"errors": {"body": ["is not valid JSON"]}}
VALID_USER = '{"user": {"username": "jake", "email": "jake@example.com", "password": "password123"}}'


@pytest.fixture
def no_user_written(testapp, db_engine):
    """After the test: no user row exists, and jake can still register."""
    yield
    with db_engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 0
    register(testapp, "jake")


def put_raw(testapp, token, body, content_type="application/json", status="*"):
    return testapp.put(
        "/api/user", body.encode(), headers=auth(token), content_type=content_type, status=status
    )


@pytest.mark.parametrize("path", ["/api/users", "/api/users/login"])
@pytest.mark.parametrize(
    "body",
    [
        '{"user": {"username": "jake"',  # truncated
        "{'user': {}}",  # single quotes
        '{"user": {"username": "jake",}}',  # trailing comma
        "user=jake",
        '{"user": {"username": "jake"}} trailing',
    ],
)
def test_malformed_json_is_400(testapp, no_user_written, path, body):
    response = post_raw(testapp, path, body, status=400)
    assert response.json == NOT_JSON


def test_a_body_that_is_not_utf8_is_400(testapp, no_user_written):
    body = VALID_USER.replace("jake", "j\xe9ke").encode("latin-1")
    response = post_raw(testapp, "/api/users", body, status=400)
    assert response.json == NOT_JSON


def test_malformed_json_on_update_is_400_and_changes_nothing(testapp):
    token, _ = register(testapp, "jake")
    response = put_raw(testapp, token, '{"user": {"bio": "x"', status=400)
    assert response.json == NOT_JSON
    assert testapp.get("/api/user", headers=auth(token)).json["user"]["bio"] is None


@pytest.mark.parametrize("path", ["/api/users", "/api/users/login"])
def test_an_empty_body_is_422(testapp, no_user_written, path):
    response = post_raw(testapp, path, "", status=422)
    assert response.json == {"errors": {"body": ["can't be blank"]}}


@pytest.mark.parametrize("body", ["[]", '"user"', "5", "null", "true"])
def test_a_body_that_is_not_an_object_is_422(testapp, no_user_written, body):
    response = post_raw(testapp, "/api/users", body, status=422)
    assert response.json == {"errors": {"body": ["must be an object"]}}


@pytest.mark.parametrize("path", ["/api/users", "/api/users/login"])
def test_a_missing_user_envelope_is_422(testapp, no_user_written, path):
    response = post_raw(testapp, path, "{}", status=422)
    assert response.json == {"errors": {"user": ["can't be blank"]}}


def test_fields_outside_the_user_envelope_are_refused(testapp, no_user_written):
    body = '{"username": "jake", "email": "jake@example.com", "password": "password123"}'
    response = post_raw(testapp, "/api/users", body, status=422)
    assert response.json == {
        "errors": {
            "user": ["can't be blank"],
            "username": ["is not allowed"],
            "email": ["is not allowed"],
            "password": ["is not allowed"],
        }
    }


@pytest.mark.parametrize("envelope", ['"jake"', "[]", "5", "null"])
def test_a_user_envelope_that_is_not_an_object_is_422(testapp, no_user_written, envelope):
    response = post_raw(testapp, "/api/users", f'{{"user": {envelope}}}', status=422)
    assert response.json == {"errors": {"user": ["must be an object"]}}


@pytest.mark.parametrize(
    "field, value",
    [
        ("username", "5"),
        ("username", "true"),
        ("email", '["jake@example.com"]'),
        ("email", '{"address": "jake@example.com"}'),
        ("password", "12345678"),
    ],
)
def test_a_field_of_the_wrong_type_is_422(testapp, no_user_written, field, value):
    values = {"username": '"jake"', "email": '"jake@example.com"', "password": '"password123"'}
    values[field] = value
    body = '{"user": {%s}}' % ", ".join(f'"{k}": {v}' for k, v in values.items())
    response = post_raw(testapp, "/api/users", body, status=422)
    assert response.json == {"errors": {field: ["must be a string"]}}


def test_every_wrong_field_is_reported_at_once(testapp, no_user_written):
    body = '{"user": {"username": 5, "email": true, "password": ["x"]}}'
    response = post_raw(testapp, "/api/users", body, status=422)
    assert response.json == {
        "errors": {
            "username": ["must be a string"],
            "email": ["must be a string"],
            "password": ["must be a string"],
        }
    }


def test_login_with_a_wrong_type_is_422(testapp):
    register(testapp, "jake")
    body = '{"user": {"email": "jake@example.com", "password": 12345678}}'
    response = post_raw(testapp, "/api/users/login", body, status=422)
    assert response.json == {"errors": {"password": ["must be a string"]}}


@pytest.mark.parametrize(
    "body, unknown",
    [
        (VALID_USER[:-2] + ', "admin": true}}', "admin"),
        (VALID_USER[:-2] + ', "bio": "hello"}}', "bio"),
        (VALID_USER[:-1] + ', "extra": 1}', "extra"),
    ],
)
def test_unknown_fields_on_registration_are_422(testapp, no_user_written, body, unknown):
    response = post_raw(testapp, "/api/users", body, status=422)
    assert response.json == {"errors": {unknown: ["is not allowed"]}}


@pytest.mark.parametrize("unknown", ["token", "following", "id", "password_hash"])
def test_unknown_fields_on_update_are_422_and_change_nothing(testapp, unknown):
    token, _ = register(testapp, "jake")
    body = '{"user": {"bio": "new", "%s": "x"}}' % unknown
    response = put_raw(testapp, token, body, status=422)
    assert response.json == {"errors": {unknown: ["is not allowed"]}}
    assert testapp.get("/api/user", headers=auth(token)).json["user"]["bio"] is None


def test_login_with_unknown_fields_is_422(testapp):
    register(testapp, "jake")
    body = '{"user": {"email": "jake@example.com", "password": "password123", "remember": true}}'
    response = post_raw(testapp, "/api/users/login", body, status=422)
    assert response.json == {"errors": {"remember": ["is not allowed"]}}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml"],
)
def test_a_body_that_is_not_declared_json_is_415(testapp, no_user_written, content_type):
    response = post_raw(testapp, "/api/users", VALID_USER, content_type=content_type, status=415)
    assert response.json == {"errors": {"body": ["must be JSON (Content-Type: application/json)"]}}


def test_an_update_that_is_not_declared_json_is_415_and_changes_nothing(testapp):
    token, _ = register(testapp, "jake")
    response = put_raw(testapp, token, '{"user": {"bio": "new"}}', "text/plain", status=415)
    assert response.json == {"errors": {"body": ["must be JSON (Content-Type: application/json)"]}}
    assert testapp.get("/api/user", headers=auth(token)).json["user"]["bio"] is None


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.api+json"]
)
def test_json_content_types_with_parameters_or_suffix_are_accepted(testapp, content_type):
    response = post_raw(testapp, "/api/users", VALID_USER, content_type=content_type, status=201)
    assert response.json["user"]["username"] == "jake"


def test_a_body_over_the_size_limit_is_413_and_writes_nothing(make_app, db_engine):
    testapp = ContractTestApp(make_app(**{"myapp.max_body_bytes": "200"}))
    body = VALID_USER[:-2] + ', "padding": "%s"}}' % ("x" * 200)
    response = post_raw(testapp, "/api/users", body, status=413)
    assert response.json == {"errors": {"body": ["is too large (maximum is 200 bytes)"]}}
    # The same limit lets an ordinary registration through.
    post_raw(testapp, "/api/users", VALID_USER, status=201)
    with db_engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 1
