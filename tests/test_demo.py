"""The demo data set (``initialize_myapp_db INI --demo``), seen through the API."""

import subprocess
import sys

import sqlalchemy as sa
from pyramid.request import Request
from pyramid.scripting import prepare

from myapp import demo
from myapp.models import import_all_models
from myapp.scripts.initialize_db import load_demo

from .conftest import ROOT

ALL_TAGS = {tag for *_, tags, _ in demo.ARTICLES for tag in tags}


def load(app):
    """Load the demo data as the command does: the app's own request.tm and dbsession,
    of a writing request (a GET would read in a read-only transaction on PostgreSQL)."""
    with prepare(request=Request.blank("/", method="POST"), registry=app.registry) as env:
        return load_demo(env)


def row_counts(engine):
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for table in import_all_models().sorted_tables
        }


def login(testapp, email):
    body = {"user": {"email": email, "password": demo.DEMO_PASSWORD}}
    return testapp.post_json("/api/users/login", body, status=200).json["user"]


def test_demo_data_through_the_api(app, testapp):
    assert load(app) == {
        "users": 4, "articles": 10, "tags": len(ALL_TAGS),
        "follows": 5, "favorites": 10, "comments": 8,
    }

    listing = testapp.get("/api/articles").json
    assert listing["articlesCount"] == 10
    titles = [article["title"] for article in listing["articles"]]
    assert titles == [title for _, title, *_ in reversed(demo.ARTICLES)]  # newest first
    assert set(testapp.get("/api/tags").json["tags"]) == ALL_TAGS
    assert testapp.get("/api/articles", {"tag": "databases"}).json["articlesCount"] == 4

    article = testapp.get("/api/articles/getting-started-with-pyramid").json["article"]
    assert article["tagList"] == ["beginners", "pyramid", "python"]
    assert article["favoritesCount"] == 3
    assert article["author"]["username"] == "jake"
    comments = testapp.get("/api/articles/getting-started-with-pyramid/comments").json["comments"]
    assert [comment["author"]["username"] for comment in comments] == ["kofi", "jake"]

    jake = login(testapp, "jake@example.com")
    assert jake["username"] == "jake"
    assert jake["bio"] and jake["image"]
    headers = {"Authorization": f"Token {jake['token']}"}
    assert testapp.get("/api/profiles/ana", headers=headers).json["profile"]["following"] is True
    feed = testapp.get("/api/articles/feed", headers=headers).json
    assert {article["author"]["username"] for article in feed["articles"]} == {"ana"}
    assert feed["articlesCount"] == 3
    favorited = testapp.get("/api/articles", {"favorited": "jake"}, headers=headers).json
    assert favorited["articlesCount"] == 3
    assert all(article["favorited"] for article in favorited["articles"])

    for _, email, *_ in demo.USERS:
        login(testapp, email)


def test_loading_twice_does_not_duplicate(app, testapp, db_engine):
    load(app)
    counts = row_counts(db_engine)
    assert load(app) == {"skipped": ["ana", "jake", "kofi", "mei"]}
    assert row_counts(db_engine) == counts
    assert testapp.get("/api/articles").json["articlesCount"] == 10


def test_skipped_when_a_demo_name_is_taken(app, testapp, db_engine):
    body = {"user": {"username": "jake", "email": "someone@example.org", "password": "secret-123"}}
    testapp.post_json("/api/users", body, status=201)
    assert load(app) == {"skipped": ["jake"]}
    assert row_counts(db_engine)["articles"] == 0


def test_command_line(database_url, testapp):
    """``initialize_myapp_db development.ini database_url=... --demo``, twice."""
    command = [sys.executable, "-m", "myapp.scripts.initialize_db", "development.ini",
               f"database_url={database_url}", "--demo"]

    def run():
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "demo data loaded: 4 users, 10 articles" in run()
    assert "already there" in run()
    assert testapp.get("/api/articles").json["articlesCount"] == 10
    assert login(testapp, "mei@example.com")["username"] == "mei"
