"""Security headers a browser acts on (myapp.edge.headers)."""

from ..helpers import auth, login, register

NOSNIFF = ("X-Content-Type-Options", "nosniff")


def test_every_kind_of_response_says_nosniff(testapp):
    token, _ = register(testapp, "jake")
    responses = [
        testapp.get("/api/tags"),
        testapp.get("/api/articles"),
        testapp.get("/api/health"),
        testapp.get("/api/docs"),
        testapp.get("/api/openapi.json"),
        testapp.get("/api/nowhere", status=404),
        testapp.delete("/api/tags", status=405),
        testapp.get("/api/user", status=401),
        testapp.post("/api/users", "{", content_type="application/json", status=400),
        testapp.get("/api/profiles/nobody", headers=auth(token), status=404),
        testapp.options("/api/articles", headers={
            "Origin": "https://frontend.example", "Access-Control-Request-Method": "POST"}),
    ]
    for response in responses:
        assert response.headers.get(NOSNIFF[0]) == NOSNIFF[1], response.request.path


def test_answers_that_carry_a_token_are_never_stored(testapp):
    token, registered = register(testapp, "jake")
    carrying_a_token = [
        testapp.post_json("/api/users", {"user": {"username": "ann", "email": "ann@example.com",
                                                  "password": "password123"}}, status=201),
        login(testapp, "jake@example.com"),
        testapp.get("/api/user", headers=auth(token)),
        testapp.put_json("/api/user", {"user": {"bio": "hi"}}, headers=auth(token)),
        # Their errors too: nothing on these routes is worth keeping.
        login(testapp, "jake@example.com", password="wrong-password", status=401),
    ]
    for response in carrying_a_token:
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    assert "no-store" not in testapp.get("/api/tags").headers.get("Cache-Control", "")


def test_the_docs_page_may_not_be_framed(testapp):
    response = testapp.get("/api/docs")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
