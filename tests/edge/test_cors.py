"""CORS on the users endpoints: the tests allow the origin https://frontend.example.

CORS is transport, not API: preflights are not operations of the OpenAPI
document, so these tests use a plain WebTest client, not the contract-checking
``testapp``.
"""

import pytest
import sqlalchemy as sa

from ..helpers import auth, register
from ..contract import ContractTestApp

ALLOWED = "https://frontend.example"
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
)


def preflight(testapp, origin, path="/api/users", method="POST", status="*"):
    return testapp.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        status=status,
    )


@pytest.mark.parametrize(
    "path, method",
    [("/api/users", "POST"), ("/api/users/login", "POST"), ("/api/user", "PUT"),
     ("/api/profiles/jake/follow", "DELETE")],
)
def test_a_preflight_from_an_allowed_origin_is_204_with_the_cors_headers(testapp, path, method):
    response = preflight(testapp, ALLOWED, path, method, status=204)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    allowed_methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert method in allowed_methods
    allowed_headers = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type"} <= allowed_headers
    assert "Origin" in response.headers["Vary"]
    assert response.body == b""


def test_a_preflight_writes_nothing(testapp, db_engine):
    preflight(testapp, ALLOWED, status=204)
    with db_engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 0


def test_a_response_to_an_allowed_origin_carries_allow_origin(testapp):
    response = testapp.post_json(
        "/api/users",
        {"user": {"username": "jake", "email": "jake@example.com", "password": "password123"}},
        headers={"Origin": ALLOWED},
        status=201,
    )
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    token = response.json["user"]["token"]
    response = testapp.get("/api/user", headers={"Origin": ALLOWED, **auth(token)})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_an_error_response_to_an_allowed_origin_carries_allow_origin(testapp):
    """A browser frontend can only read the error body with the header."""
    response = testapp.get("/api/user", headers={"Origin": ALLOWED}, status=401)
    assert response.json == {"errors": {"token": ["is missing"]}}
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    response = testapp.post_json(
        "/api/users/login",
        {"user": {"email": "nobody@example.com", "password": "password123"}},
        headers={"Origin": ALLOWED},
        status=401,
    )
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://frontend.example", "https://frontend.example.evil"]
)
def test_a_disallowed_origin_gets_no_cors_headers(testapp, origin):
    response = preflight(testapp, origin)
    assert response.status_int != 204
    assert not any(name in response.headers for name in CORS_HEADERS)

    token, _ = register(testapp, "jake")
    response = testapp.get("/api/user", headers={"Origin": origin, **auth(token)})
    assert response.json["user"]["username"] == "jake"  # served, but not shared with the page
    assert not any(name in response.headers for name in CORS_HEADERS)


def test_a_request_without_origin_gets_no_cors_headers(testapp):
    response = testapp.get("/api/profiles/nobody", status=404)
    assert not any(name in response.headers for name in CORS_HEADERS)


def test_an_origin_wildcard_setting_allows_any_origin(make_app):
    testapp = ContractTestApp(make_app(**{"myapp.cors_allowed_origins": "*"}))
    response = preflight(testapp, "https://anywhere.example", status=204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    response = testapp.get("/api/profiles/nobody", headers={"Origin": "https://x.example"}, status=404)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def _exposed(response):
    return {name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")}


@pytest.mark.parametrize(
    "method, path, status",
    [("GET", "/api/user", 401), ("GET", "/api/profiles/nobody", 404),
     ("POST", "/api/users/login", 422), ("GET", "/api/tags", 200)],
)
def test_every_answer_to_an_allowed_origin_exposes_its_headers(testapp, method, path, status):
    """Retry-After and the request id matter most on the errors, which have no ETag."""
    response = testapp.request(path, method=method, headers={"Origin": ALLOWED}, status=status)
    assert {"Retry-After", "X-Request-ID", "ETag"} <= _exposed(response)


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_answers_vary_on_origin_whenever_origins_are_restricted(testapp, origin):
    """A shared cache must not hand one origin's answer (with or without Allow-Origin) to another."""
    headers = {"Origin": origin} if origin else {}
    response = testapp.get("/api/tags", headers=headers)
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Expose-Headers" not in response.headers


def _methods(response):
    return [name.strip() for name in response.headers["Access-Control-Allow-Methods"].split(",")]


@pytest.mark.parametrize(
    "path, method, served",
    [("/api/users/login", "POST", ["POST"]),
     ("/api/user", "PUT", ["GET", "HEAD", "PUT"]),
     ("/api/user/", "GET", ["GET", "HEAD", "PUT"]),  # the one trailing slash too
     ("/api/articles/some-slug", "DELETE", ["DELETE", "GET", "HEAD", "PUT"]),
     ("/api/articles/some-slug/comments/7", "DELETE", ["DELETE"]),
     ("/api/profiles/jake/follow", "POST", ["DELETE", "POST"])],
)
def test_a_preflight_names_the_methods_its_route_serves(testapp, path, method, served):
    """Exactly the route's methods, from its views: no other route's, no OPTIONS."""
    assert _methods(preflight(testapp, ALLOWED, path, method, status=204)) == served


@pytest.mark.parametrize(
    "path, method, status",
    [("/api/tags", "DELETE", 405),  # the route serves GET only
     ("/api/users/login", "PUT", 405),
     ("/api/nothing-here", "POST", 404),  # no route at all
     ("/api/articles/a/b/c", "GET", 404)],
)
def test_a_preflight_claims_nothing_for_a_method_or_path_that_is_not_served(
    testapp, path, method, status
):
    """The API's own answer to that path (404, or 405 with its Allow): not a 2xx,
    no Allow-Methods, so the browser does not send the request."""
    response = preflight(testapp, ALLOWED, path, method, status=status)
    assert "Access-Control-Allow-Methods" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED  # the page may read why
    if status == 405:
        assert method not in response.headers["Allow"]
