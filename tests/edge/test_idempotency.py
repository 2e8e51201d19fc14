"""Idempotency-Key on the POSTs that create something (myapp.edge.idempotency)."""

import json
import time

import pytest
import sqlalchemy as sa
import webtest
from pyramid.httpexceptions import HTTPSeeOther

from myapp.edge.idempotency import Keyed
from myapp.models import import_all_models

from ..contract import ContractTestApp
from ..helpers import alice, article_fields, auth, bob, create_article, db_snapshot  # noqa: F401

NEW_USER = {"user": {"username": "dora", "email": "dora@example.com", "password": "password123"}}


def _count(db_engine, table):
    with db_engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))


def _keys(db_engine):
    table = import_all_models().tables["idempotency_keys"]
    with db_engine.connect() as connection:
        return connection.execute(sa.select(table.c.scope, table.c.key, table.c.status)).all()


def _post(testapp, path, body, key, headers=None, status=None):
    keyed = {"Idempotency-Key": key} if key is not None else {}
    return testapp.post_json(path, body, headers={**keyed, **(headers or {})}, status=status)


def _same_answer(first, second):
    assert (second.status, second.body) == (first.status, first.body)
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers.get("ETag") == first.headers.get("ETag")


def test_a_retried_registration_registers_once(testapp, db_engine):
    first = _post(testapp, "/api/users", NEW_USER, '"register-1"', status=201)
    again = _post(testapp, "/api/users", NEW_USER, '"register-1"', status=201)
    assert _count(db_engine, "users") == 1
    # The same answer, but for its token: a new one (no token is stored, see below).
    first_user, again_user = first.json["user"], again.json["user"]
    assert first_user.pop("token") != again_user.pop("token")
    assert again_user == first_user
    # Without quotes it is the same key (lenient reading of the sf-string).
    _post(testapp, "/api/users", NEW_USER, "register-1", status=201)
    assert _count(db_engine, "users") == 1


def test_no_live_token_is_stored_and_a_repeat_gets_a_working_one(testapp, db_engine):
    first = _post(testapp, "/api/users", NEW_USER, '"register-2"', status=201)
    table = import_all_models().tables["idempotency_keys"]
    with db_engine.connect() as connection:
        stored = connection.scalar(sa.select(table.c.body))
    assert json.loads(stored)["user"]["token"] is None
    assert first.json["user"]["token"].encode() not in stored
    again = _post(testapp, "/api/users", NEW_USER, '"register-2"', status=201)
    token = again.json["user"]["token"]
    assert testapp.get("/api/user", headers=auth(token)).json["user"]["username"] == "dora"


def test_anonymous_keys_cannot_block_or_probe_another_clients(testapp, db_engine):
    """Someone else's registration with the same key is another registration, not a 422."""
    other = {"user": {"username": "eve", "email": "eve@example.com", "password": "password123"}}
    _post(testapp, "/api/users", other, '"guessable"', status=201)
    mine = _post(testapp, "/api/users", NEW_USER, '"guessable"', status=201)
    assert mine.json["user"]["username"] == "dora"
    assert _count(db_engine, "users") == 2


def test_a_keyed_post_while_the_database_is_down_answers_like_an_unkeyed_one(
    make_app, backend, tmp_path
):
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/db.sqlite",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2",
    }[backend]
    testapp = ContractTestApp(make_app(**{"sqlalchemy.url": unreachable}))
    origin = {"Origin": "https://frontend.example"}
    answers = [
        _post(testapp, "/api/users", NEW_USER, key, origin, status=503)
        for key in (None, '"down-1"')
    ]
    for answer in answers:
        assert answer.json == {"errors": {"database": ["unavailable"]}}
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["Access-Control-Allow-Origin"] == "https://frontend.example"
        assert answer.headers["X-Request-ID"]
    unkeyed, keyed = answers
    assert sorted(name for name in keyed.headers if name != "Idempotency-Key") == sorted(
        unkeyed.headers
    )


def redirecting_view(config):
    """A keyed POST whose answer is neither an error nor a success (a redirect)."""

    def see_other(request):
        request.dbsession.execute(sa.text("SELECT 1"))
        return HTTPSeeOther(location="/api/articles")

    config.add_route("keyed_redirect", "/_test/keyed")
    config.add_view(see_other, route_name="keyed_redirect", request_method="POST",
                    idempotency=Keyed())


def test_an_answer_neither_error_nor_success_leaves_no_claim(make_app, alice, db_engine):
    testapp = webtest.TestApp(make_app(includes=[redirecting_view]))
    for _ in range(2):  # the second one runs again: nothing is repeated
        answer = testapp.post_json("/_test/keyed", {}, headers={
            **alice.headers, "Idempotency-Key": '"moved"'}, status=303)
        assert answer.headers["Location"].endswith("/api/articles")
    assert _keys(db_engine) == []


def test_a_retried_article_is_written_once_and_replayed_byte_for_byte(testapp, alice, db_engine):
    body = {"article": article_fields(title="Once", tagList=["retry"])}
    first = _post(testapp, "/api/articles", body, '"a-1"', alice.headers, status=201)
    # Another article with the same title meanwhile: a new write would get another slug.
    create_article(testapp, alice.token, title="Once")
    again = _post(testapp, "/api/articles/", body, '"a-1"', alice.headers, status=201)
    _same_answer(first, again)
    assert first.json["article"]["slug"] == "once"
    assert _count(db_engine, "articles") == 2
    assert [(key, status) for _, key, status in _keys(db_engine)] == [("a-1", 201)]


def test_a_retried_comment_is_written_once(testapp, alice, db_engine):
    slug = create_article(testapp, alice.token)["slug"]
    body = {"comment": {"body": "Only once"}}
    first = _post(testapp, f"/api/articles/{slug}/comments", body, '"c-1"', alice.headers,
                  status=201)
    again = _post(testapp, f"/api/articles/{slug}/comments", body, '"c-1"', alice.headers,
                  status=201)
    _same_answer(first, again)
    assert _count(db_engine, "comments") == 1


def test_the_same_key_with_another_body_is_refused(testapp, alice, db_engine):
    _post(testapp, "/api/articles", {"article": article_fields(title="One")}, '"k"',
          alice.headers, status=201)
    before = db_snapshot(db_engine)
    other = _post(testapp, "/api/articles", {"article": article_fields(title="Two")}, '"k"',
                  alice.headers, status=422)
    assert other.json == {"errors": {"Idempotency-Key": ["was already used with another request"]}}
    assert db_snapshot(db_engine) == before


def test_keys_belong_to_their_user(testapp, alice, bob, db_engine):
    body = {"article": article_fields(title="Shared key")}
    mine = _post(testapp, "/api/articles", body, '"same"', alice.headers, status=201)
    theirs = _post(testapp, "/api/articles", body, '"same"', bob.headers, status=201)
    assert mine.json["article"]["author"]["username"] == "alice"
    assert theirs.json["article"]["author"]["username"] == "bob"
    assert _count(db_engine, "articles") == 2


@pytest.mark.parametrize(
    "key", ['""', "", " ", "x" * 256, '"a"b"', "back\\slash", "café", "a b", '"half']
)
def test_a_malformed_key_is_refused_and_nothing_is_written(testapp, alice, db_engine, key):
    before = db_snapshot(db_engine)
    answer = testapp.post_json(
        "/api/articles", {"article": article_fields()},
        headers={**alice.headers, "Idempotency-Key": key.encode().decode("latin-1")}, status=400,
    )
    assert list(answer.json["errors"]) == ["Idempotency-Key"]
    assert db_snapshot(db_engine) == before


def test_an_error_answer_is_not_stored_and_a_retry_runs_again(testapp, alice, db_engine):
    body = {"comment": {"body": "Early"}}
    _post(testapp, "/api/articles/later/comments", body, '"early"', alice.headers, status=404)
    assert _keys(db_engine) == []  # aborted with its request
    create_article(testapp, alice.token, title="Later")
    _post(testapp, "/api/articles/later/comments", body, '"early"', alice.headers, status=201)
    assert _count(db_engine, "comments") == 1


def test_without_a_token_the_key_changes_nothing(testapp, db_engine):
    _post(testapp, "/api/articles", {"article": article_fields()}, '"anon"', status=401)
    _post(testapp, "/api/articles", {"article": article_fields()}, "bad key", status=401)
    assert _keys(db_engine) == []


def test_expired_keys_are_forgotten_and_purged(testapp, alice, db_engine):
    body = {"article": article_fields(title="Expiring")}
    _post(testapp, "/api/articles", body, '"old"', alice.headers, status=201)
    _post(testapp, "/api/articles", body, '"older"', alice.headers, status=201)
    table = import_all_models().tables["idempotency_keys"]
    with db_engine.begin() as connection:
        connection.execute(table.update().values(expires_at=int(time.time()) - 1))
    # Past its lifetime the key is new again: the request runs (a second article)...
    _post(testapp, "/api/articles", body, '"old"', alice.headers, status=201)
    assert _count(db_engine, "articles") == 3
    # ...and the other expired key is purged on the way.
    assert [key for _, key, _ in _keys(db_engine)] == ["old"]


def test_the_lifetime_is_a_setting(make_app, db_engine):
    testapp = ContractTestApp(make_app(**{"myapp.idempotency.key_lifetime": "3600"}))
    _post(testapp, "/api/users", NEW_USER, '"life"', status=201)
    table = import_all_models().tables["idempotency_keys"]
    with db_engine.connect() as connection:
        expires_at = connection.scalar(sa.select(table.c.expires_at))
    assert 3590 <= expires_at - time.time() <= 3610


def test_a_key_expiring_after_january_2038_is_stored_and_honoured(make_app, db_engine):
    # Seventy years ahead: the expiry is a Unix time past 2**31 - 1.
    lifetime = 70 * 365 * 24 * 3600
    testapp = ContractTestApp(make_app(**{"myapp.idempotency.key_lifetime": str(lifetime)}))
    _post(testapp, "/api/users", NEW_USER, '"long-lived"', status=201)
    _post(testapp, "/api/users", NEW_USER, '"long-lived"', status=201)
    assert _count(db_engine, "users") == 1
    table = import_all_models().tables["idempotency_keys"]
    with db_engine.connect() as connection:
        expires_at = connection.scalar(sa.select(table.c.expires_at))
    assert expires_at > 2**31 - 1
    assert lifetime - 10 <= expires_at - time.time() <= lifetime + 10
