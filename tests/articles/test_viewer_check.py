"""Reads check the viewer's token in their own statement: the list, the feed, one
article and its comments (all of them, or a page).

They answer what ``request.user`` answers (myapp.users.current) without a
statement for the user's row first: 401 ``token: is invalid`` for a revoked
token or one whose user is gone (before a 404 for an unknown article), the
answer for a current one, including the token that changed the password; and
the same rows as for the user ``request.user`` loads.
"""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from myapp.articles import queries
from myapp.auth.tokens import TokenClaims, Tokens
from myapp.comments import services as comments
from myapp.edge.errors import APIError
from myapp.users.current import UncheckedViewer
from myapp.users.models import User

from ..helpers import add_comment, auth, create_article, follow, login, register

INVALID = {"errors": {"token": ["is invalid"]}}
READS = (
    "/api/articles", "/api/articles/feed", "/api/articles/{slug}", "/api/articles/{slug}/comments",
    "/api/articles/{slug}/comments?limit=5",
)
ARTICLE_READS = READS[2:]


def change_password(testapp, token):
    testapp.put_json("/api/user", {"user": {"password": "bonjour1"}}, headers=auth(token))


@pytest.mark.parametrize("path", READS)
def test_a_revoked_token_reads_nothing(testapp, path):
    token, _ = register(testapp, "jake")
    path = path.format(slug=create_article(testapp, token)["slug"])
    other_device = login(testapp, "jake@example.com").json["user"]["token"]
    testapp.get(path, headers=auth(other_device), status=200)

    change_password(testapp, token)

    assert testapp.get(path, headers=auth(other_device), status=401).json == INVALID
    testapp.get(path, headers=auth(token), status=200)  # the token that changed it


@pytest.mark.parametrize("path", READS)
def test_the_token_of_a_deleted_user_reads_nothing(testapp, db_engine, alice, path):
    path = path.format(slug=create_article(testapp, alice.token)["slug"])
    token, _ = register(testapp, "jake")
    with db_engine.begin() as connection:
        connection.execute(sa.delete(User.__table__).where(User.__table__.c.username == "jake"))
    assert testapp.get(path, headers=auth(token), status=401).json == INVALID


@pytest.mark.parametrize("path", ARTICLE_READS)
def test_a_revoked_token_is_told_before_an_unknown_article(testapp, path):
    token, _ = register(testapp, "jake")
    other_device = login(testapp, "jake@example.com").json["user"]["token"]
    path = path.format(slug="nowhere")
    testapp.get(path, headers=auth(other_device), status=404)
    change_password(testapp, token)
    assert testapp.get(path, headers=auth(other_device), status=401).json == INVALID
    testapp.get(path, headers=auth(token), status=404)


def test_the_feed_without_a_token_is_still_missing_one(testapp):
    answer = testapp.get("/api/articles/feed", status=401)
    assert answer.json == {"errors": {"token": ["is missing"]}}


def _reads(slug):
    """Each read that checks an ``UncheckedViewer``: (name, function of (session, viewer))."""
    page = SimpleNamespace(limit=20, offset=0, after=None)
    return {
        "list": lambda session, viewer: queries.article_page(session, viewer, page),
        "feed": lambda session, viewer: queries.article_page(session, viewer, page, feed=True),
        "article": lambda session, viewer: [queries.article_by_slug(session, viewer, slug)],
        "comments": lambda session, viewer: comments.comments_of(session, viewer, slug),
        "comment page": lambda session, viewer: comments.comment_page(session, viewer, slug, page),
    }


def _without_check(answer):
    """A read's answer without the column ``viewer_current`` (rows are named tuples)."""
    def strip(rows):
        return [{k: v for k, v in row._asdict().items() if k != "viewer_current"} for row in rows]

    rows, *rest = answer if isinstance(answer, tuple) else (answer,)
    return strip(rows), *rest


@pytest.mark.parametrize("slug", ["discussed", "nowhere"])
def test_the_statements_check_is_request_users_on_every_token(testapp, db_engine, alice, bob, slug):
    """Versions and token ids around the user's own: each read accepts exactly the tokens
    ``Tokens.is_current`` accepts, 401 otherwise (before a 404), and answers what it
    answers for the user ``request.user`` loads: the same rows, ``favorited`` and
    ``following`` included."""
    create_article(testapp, alice.token, title="Discussed")
    follow(testapp, bob.token, "alice")
    testapp.post("/api/articles/discussed/favorite", headers=auth(bob.token), status=200)
    add_comment(testapp, alice.token, "discussed")
    with db_engine.begin() as connection:
        connection.execute(
            sa.update(User.__table__).where(User.__table__.c.username == "bob")
            .values(token_version=3, password_changed_by="changed-it")
        )
    with Session(db_engine) as session:
        user = session.scalar(sa.select(User).where(User.username == "bob"))
        checked = 0
        for name, read in _reads(slug).items():
            try:
                expected = _without_check(read(session, user))
            except APIError as found:
                expected = found.status
            for user_id in (user.id, user.id + 1000):
                for version in (2, 3, 4):
                    for token_id in ("changed-it", "another", ""):
                        claims = TokenClaims(user_id, version, token_id)
                        current = user_id == user.id and Tokens.is_current(claims, user)
                        try:
                            answer = _without_check(read(session, UncheckedViewer(*claims)))
                        except APIError as found:
                            answer = found.status
                        assert answer == (expected if current else 401), (name, claims)
                        checked += current
        assert checked == 5 * 5  # (3, any) and (2 or 4, "changed-it")
        if slug == "discussed":  # the rows carry what a viewer sees
            article = queries.article_by_slug(session, UncheckedViewer(user.id, 3, ""), slug)
            assert (article.favorited, article.following) == (True, True)
            (comment,) = comments.comments_of(session, UncheckedViewer(user.id, 3, ""), slug)
            assert comment.following is True
