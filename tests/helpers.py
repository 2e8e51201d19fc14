"""Helpers shared by the functional tests: register a user, build auth headers."""

import re
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from myapp.models import import_all_models

DEFAULT_PASSWORD = "password123"


def register(testapp, username, password=DEFAULT_PASSWORD, email=None):
    """Register ``username`` through the API; return ``(token, response json)``.

    The email defaults to ``<username>@example.com``.
    """
    email = email if email is not None else f"{username}@example.com"
    response = testapp.post_json(
        "/api/users",
        {"user": {"username": username, "email": email, "password": password}},
        status=201,
    )
    return response.json["user"]["token"], response.json


def auth(token, scheme="Token"):
    """The headers that authenticate a request with ``token``."""
    return {"Authorization": f"{scheme} {token}"}


def login(testapp, email, password=DEFAULT_PASSWORD, status=200):
    """POST /api/users/login; the response (``status`` is asserted)."""
    return testapp.post_json(
        "/api/users/login", {"user": {"email": email, "password": password}}, status=status
    )


def post_raw(testapp, url, body, content_type="application/json", status="*", headers=None):
    """POST ``body`` (str or bytes, sent as is) with ``content_type``."""
    if isinstance(body, str):
        body = body.encode()
    return testapp.post(
        url, body, headers=headers or {}, content_type=content_type, status=status
    )



# --- Articles, comments, favorites, follows (tests/articles, tests/comments) ---

#: The spec's timestamps: ISO 8601, UTC, milliseconds, ``Z``.
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Account(NamedTuple):
    """A registered user: ``username``, ``token`` and the ``headers`` to send it."""

    username: str
    token: str

    @property
    def headers(self):
        return auth(self.token)

    def profile(self, following=False):
        """This user as an ``author`` object shows it to a viewer."""
        return {"username": self.username, "bio": None, "image": None, "following": following}


def account(testapp, username):
    token, _ = register(testapp, username)
    return Account(username, token)


@pytest.fixture
def alice(testapp):
    return account(testapp, "alice")


@pytest.fixture
def bob(testapp):
    return account(testapp, "bob")


@pytest.fixture
def carol(testapp):
    return account(testapp, "carol")


def article_fields(**fields):
    """A valid new article; ``fields`` override the defaults."""
    return {"title": "A title", "description": "A description", "body": "A body", **fields}


def create_article(testapp, token, **fields):
    """POST /api/articles (201 asserted); the ``article`` of the answer."""
    response = testapp.post_json(
        "/api/articles", {"article": article_fields(**fields)}, headers=auth(token), status=201
    )
    return response.json["article"]


def get_article(testapp, slug, token=None, status=200):
    """GET /api/articles/{slug}: the ``article`` on 200, else the whole error body."""
    headers = auth(token) if token else {}
    response = testapp.get(f"/api/articles/{slug}", headers=headers, status=status)
    return response.json["article"] if status == 200 else response.json


def list_articles(testapp, token=None, path="/api/articles", **params):
    """GET /api/articles (or ``path``) with query ``params``; the whole JSON answer."""
    headers = auth(token) if token else {}
    return testapp.get(path, params=params, headers=headers, status=200).json


def slugs(page):
    return [article["slug"] for article in page["articles"]]


def follow(testapp, token, username):
    testapp.post(f"/api/profiles/{username}/follow", headers=auth(token), status=200)


def favorite(testapp, token, slug):
    return testapp.post(f"/api/articles/{slug}/favorite", headers=auth(token), status=200).json


def add_comment(testapp, token, slug, body="A comment"):
    """POST a comment (201 asserted); the ``comment`` of the answer."""
    response = testapp.post_json(
        f"/api/articles/{slug}/comments", {"comment": {"body": body}}, headers=auth(token), status=201
    )
    return response.json["comment"]


def list_comments(testapp, slug, token=None):
    headers = auth(token) if token else {}
    return testapp.get(f"/api/articles/{slug}/comments", headers=headers, status=200).json[
        "comments"
    ]


def db_snapshot(db_engine):
    """Every row of every application table, read through the tests' own engine.

    Equal snapshots before and after a request prove the request wrote nothing.
    """
    metadata = import_all_models()
    with db_engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(sa.select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def set_timestamps(db_engine, slug, moment):
    """Give the article ``slug`` this ``created_at`` and ``updated_at`` (None: all articles)."""
    articles = import_all_models().tables["articles"]
    statement = articles.update().values(created_at=moment, updated_at=moment)
    if slug is not None:
        statement = statement.where(articles.c.slug == slug)
    with db_engine.begin() as connection:
        connection.execute(statement)


def send(testapp, method, path, body=None, headers=None, status=None):
    """Any request; ``body`` (when not None) is sent as JSON."""
    extra = {} if body is None else {"json": body}
    return testapp.request(path, method=method, headers=headers or {}, status=status, **extra)
