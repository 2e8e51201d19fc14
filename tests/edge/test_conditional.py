"""Conditional requests: ETag and If-None-Match on reads, If-Match on writes (myapp.edge.conditional)."""

import pytest
import webtest
from prometheus_client import REGISTRY

from ..helpers import add_comment, alice, bob, create_article, db_snapshot, favorite, follow  # noqa: F401


def _get(testapp, path, headers=None, status=200):
    return testapp.get(path, headers=headers or {}, status=status)


READS = [
    "/api/articles/{slug}",
    "/api/articles",
    "/api/articles?author=alice",
    "/api/articles/feed",
    "/api/articles/{slug}/comments",
    "/api/profiles/alice",
    "/api/tags",
    "/api/user",
]


@pytest.fixture
def written(testapp, alice, bob):
    article = create_article(testapp, alice.token, tagList=["http"])
    add_comment(testapp, alice.token, article["slug"])
    follow(testapp, bob.token, "alice")
    return article["slug"]


@pytest.mark.parametrize("path", READS)
def test_every_read_is_tagged_and_revalidates_with_304(testapp, bob, written, path):
    path = path.format(slug=written)
    first = _get(testapp, path, bob.headers)
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert "Authorization" in first.headers["Vary"]
    expected_cache = "no-store" if path == "/api/user" else "no-cache"
    assert first.headers["Cache-Control"] == expected_cache

    again = _get(testapp, path, {**bob.headers, "If-None-Match": tag}, status=304)
    assert again.body == b""
    assert again.headers["ETag"] == tag
    assert "Content-Type" not in again.headers
    assert again.headers["Cache-Control"] == expected_cache
    # In a list of tags, and as a weak tag (If-None-Match compares weakly).
    _get(testapp, path, {**bob.headers, "If-None-Match": f'"other", W/{tag}'}, status=304)
    # Another tag: the whole answer, as without the header.
    other = _get(testapp, path, {**bob.headers, "If-None-Match": '"other"'})
    assert other.body == first.body


def test_the_tag_follows_the_answer_and_the_viewer(testapp, alice, bob, written):
    path = f"/api/articles/{written}"
    anonymous = _get(testapp, path).headers["ETag"]
    as_bob = _get(testapp, path, bob.headers)
    assert as_bob.json["article"]["author"]["following"] is True
    assert as_bob.headers["ETag"] != anonymous  # another viewer, another answer, another tag
    # Bob's tag is no good for an anonymous reader: the whole answer.
    assert _get(testapp, path, {"If-None-Match": as_bob.headers["ETag"]}).status_int == 200

    favorite(testapp, alice.token, written)  # someone else's favorite changes the count
    changed = _get(testapp, path, {**bob.headers, "If-None-Match": as_bob.headers["ETag"]})
    assert changed.status_int == 200 and changed.json["article"]["favoritesCount"] == 1
    assert changed.headers["ETag"] != as_bob.headers["ETag"]


def test_a_client_sending_no_condition_sees_the_same_answers(testapp, bob, written):
    first = _get(testapp, f"/api/articles/{written}", bob.headers)
    second = _get(testapp, f"/api/articles/{written}", bob.headers)
    assert first.body == second.body and first.headers["ETag"] == second.headers["ETag"]


def _put_article(testapp, account, slug, headers=None, status=200, **fields):
    return testapp.put_json(
        f"/api/articles/{slug}", {"article": fields},
        headers={**account.headers, **(headers or {})}, status=status,
    )


def test_if_match_refuses_an_edit_from_a_stale_copy(testapp, alice, written, db_engine):
    read = _get(testapp, f"/api/articles/{written}", alice.headers).headers["ETag"]
    edited = _put_article(testapp, alice, written, {"If-Match": read}, body="Second")
    new_tag = edited.headers["ETag"]
    assert new_tag != read
    assert edited.headers["ETag"] == _get(
        testapp, f"/api/articles/{written}", alice.headers).headers["ETag"]

    before = db_snapshot(db_engine)
    stale = _put_article(testapp, alice, written, {"If-Match": read}, status=412, body="Third")
    assert stale.json == {
        "errors": {"article": ["has changed since you read it (If-Match does not match)"]}
    }
    testapp.delete(
        f"/api/articles/{written}", headers={**alice.headers, "If-Match": read}, status=412
    )
    assert db_snapshot(db_engine) == before
    # Weak tags and others never match; a list with the current tag does.
    for header in (f"W/{new_tag}", '"abc"', '"a.b"'):
        _put_article(testapp, alice, written, {"If-Match": header}, status=412, body="x")
    malformed = _put_article(testapp, alice, written, {"If-Match": "nonsense"}, status=400,
                             body="x")
    assert list(malformed.json["errors"]) == ["If-Match"]
    assert db_snapshot(db_engine) == before
    _put_article(testapp, alice, written, {"If-Match": f'"x", {new_tag}'}, body="Fourth")


def test_another_users_favorite_is_not_a_change_of_the_content(testapp, alice, bob, written):
    read = _get(testapp, f"/api/articles/{written}", alice.headers).headers["ETag"]
    favorite(testapp, bob.token, written)
    follow_tag = _get(testapp, f"/api/articles/{written}", alice.headers).headers["ETag"]
    assert follow_tag != read  # the answer changed (favoritesCount)...
    # ...but not what the author edits: her If-Match still holds.
    _put_article(testapp, alice, written, {"If-Match": read}, title="Renamed")
    renamed = "renamed"
    testapp.delete(f"/api/articles/{renamed}", headers={**alice.headers, "If-Match": read},
                   status=412)
    current = _get(testapp, f"/api/articles/{renamed}").headers["ETag"]
    testapp.delete(f"/api/articles/{renamed}", headers={**alice.headers, "If-Match": current},
                   status=204)


def test_if_match_star_and_no_header_behave_as_before(testapp, alice, written):
    _put_article(testapp, alice, written, {"If-Match": "*"}, body="Star")
    _put_article(testapp, alice, written, body="No header")
    testapp.delete(f"/api/articles/{written}", headers={**alice.headers, "If-Match": "*"},
                   status=204)
    _put_article(testapp, alice, written, {"If-Match": "*"}, status=404, body="gone")


def test_authorization_is_checked_before_the_precondition(testapp, bob, written):
    _put_article(testapp, bob, written, {"If-Match": '"stale.x"'}, status=403, body="Mine")


def test_if_match_on_the_current_user(testapp, alice, db_engine):
    read = _get(testapp, "/api/user", alice.headers)
    updated = testapp.put_json(
        "/api/user", {"user": {"bio": "Hello"}},
        headers={**alice.headers, "If-Match": read.headers["ETag"]}, status=200,
    )
    assert updated.headers["ETag"] != read.headers["ETag"]
    assert updated.headers["Cache-Control"] == "no-store"
    before = db_snapshot(db_engine)
    stale = testapp.put_json(
        "/api/user", {"user": {"bio": "Stale"}},
        headers={**alice.headers, "If-Match": read.headers["ETag"]}, status=412,
    )
    assert stale.json == {"errors": {"user": ["has changed since you read it (If-Match does not match)"]}}
    assert db_snapshot(db_engine) == before
    # A new login gives another token, and so another answer, but the same content.
    again = testapp.post_json(
        "/api/users/login",
        {"user": {"email": "alice@example.com", "password": "password123"}}, status=200,
    )
    token_headers = {"Authorization": f"Token {again.json['user']['token']}"}
    testapp.put_json(
        "/api/user", {"user": {"image": "https://example.com/a.png"}},
        headers={**token_headers, "If-Match": updated.headers["ETag"]}, status=200,
    )


def test_a_browser_frontend_on_another_origin_can_use_the_tags_and_keys(testapp, written):
    origin = "https://frontend.example"
    preflight = testapp.options(f"/api/articles/{written}", headers={
        "Origin": origin, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, if-match",
    }, status=204)
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-match", "if-none-match", "idempotency-key"} <= allowed
    read = _get(testapp, f"/api/articles/{written}", {"Origin": origin})
    exposed = {h.strip() for h in read.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Retry-After", "X-Request-ID"} <= exposed
    assert set(read.headers["Vary"].replace(" ", "").split(",")) == {"Origin", "Authorization"}


def test_a_malformed_if_none_match_is_400(testapp, written):
    answer = _get(testapp, f"/api/articles/{written}", {"If-None-Match": "abc"}, status=400)
    assert list(answer.json["errors"]) == ["If-None-Match"]
    _get(testapp, f"/api/articles/{written}", {"If-None-Match": ""})  # an empty list
    _get(testapp, "/api/articles/nothing", {"If-None-Match": "abc"}, status=404)  # 404 first


def test_head_revalidates_like_get(testapp, written):
    tag = _get(testapp, "/api/tags").headers["ETag"]
    assert testapp.head("/api/tags", headers={"If-None-Match": tag}, status=304).body == b""


def test_an_invalid_body_is_422_whatever_the_precondition(testapp, alice, written):
    # RFC 9110, 13.2.1: a request that fails without its precondition ignores it.
    _put_article(testapp, alice, written, {"If-Match": '"stale.x"'}, status=422, title="")
    testapp.put_json("/api/user", {"user": {"email": "not an email"}},
                     headers={**alice.headers, "If-Match": '"stale.x"'}, status=422)


def test_an_empty_if_match_is_no_precondition(testapp, alice, written):
    _put_article(testapp, alice, written, {"If-Match": ""}, body="Empty list")


def test_static_assets_are_not_hashed_and_revalidate_by_date(testapp):
    """The Swagger assets (150 KB) get no digest of their bytes; WebOb answers by Last-Modified."""
    client = webtest.TestApp(testapp.app)
    asset = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert "ETag" not in asset.headers
    since = asset.headers["Last-Modified"]
    client.get("/api/docs/static/swagger-ui-bundle.js", headers={"If-Modified-Since": since},
               status=304)


def test_a_range_request_gets_the_whole_answer(testapp):
    """Answers are whole (RFC 9110 lets a server ignore Range): never a partial JSON body."""
    answer = testapp.get("/api/tags", headers={"Range": "bytes=0-3"}, status=200)
    assert answer.json == {"tags": []}
    testapp.get("/api/tags", headers={"Range": "bytes=999-"}, status=200)


def test_a_304_is_counted_as_a_304(testapp):
    """WebOb sends the 304; the metrics and the access log see that status, not the 200."""
    labels = {"route": "tags", "status_class": "3xx"}

    def count():
        return REGISTRY.get_sample_value("myapp_http_request_duration_seconds_count", labels) or 0

    before = count()
    tag = testapp.get("/api/tags").headers["ETag"]
    testapp.get("/api/tags", headers={"If-None-Match": tag}, status=304)
    assert count() == before + 1
