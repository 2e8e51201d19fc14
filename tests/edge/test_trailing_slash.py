"""Every API route answers with one trailing slash exactly as without it, never a redirect.

A widely used Conduit frontend POSTs to ``/api/articles/``; a redirect would
turn that POST into a GET in the browser.
"""

import pytest
import webtest

from ..helpers import alice, auth, create_article  # noqa: F401


def test_a_post_to_articles_with_a_slash_creates_an_article(testapp, alice):  # noqa: F811
    response = testapp.post_json(
        "/api/articles/",
        {"article": {"title": "Slash", "description": "d", "body": "b"}},
        headers=alice.headers,
        status=201,
    )
    assert response.json["article"]["slug"]
    listed = testapp.get("/api/articles/", status=200).json
    assert [a["title"] for a in listed["articles"]] == ["Slash"]


def test_reads_and_writes_with_a_slash_behave_as_without(testapp, alice):  # noqa: F811
    slug = create_article(testapp, alice.token, title="Tagged", tagList=["x"])["slug"]
    for path in ("/api/tags", "/api/user", f"/api/articles/{slug}", f"/api/articles/{slug}/comments",
                 f"/api/profiles/{alice.username}", "/api/health", "/api/health/live"):
        plain = testapp.get(path, headers=alice.headers, status=200)
        slashed = testapp.get(path + "/", headers=alice.headers, status=200)
        assert slashed.json == plain.json, path
    testapp.post(f"/api/articles/{slug}/favorite/", headers=alice.headers, status=200)
    testapp.delete(f"/api/articles/{slug}/", headers=alice.headers, status=204)
    testapp.get(f"/api/articles/{slug}", status=404)


@pytest.mark.parametrize("path", ["/api/user/", "/api/articles/feed/"])
def test_a_protected_route_with_a_slash_still_needs_a_token(testapp, path):
    response = testapp.get(path, status=401)
    assert response.json == {"errors": {"token": ["is missing"]}}


def test_wrong_method_and_unknown_paths_with_a_slash_answer_json(testapp, alice):  # noqa: F811
    response = testapp.put_json("/api/tags/", {}, headers=auth(alice.token), status=405)
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.json == {"errors": {"method": ["not allowed"]}}
    plain = webtest.TestApp(testapp.app)  # openapi-core would take "/api/articles/" for a documented path
    for path in ("/api/articles//", "/api/nothing/", "/api//"):
        response = plain.get(path, status=404)
        assert response.json == {"errors": {"path": ["not found"]}}, path
