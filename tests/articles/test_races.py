"""Concurrent writes to one article, or one user, serialize on both databases:
the final state is the state one request sent (PostgreSQL: a row lock,
myapp.articles.queries.find_article / myapp.users.services.lock_user; SQLite:
every writing request holds the write lock from its first statement).

The same requests against ``pserve production.ini`` with a row held locked:
tests/live/test_writers_and_accounts.py.
"""

from ..helpers import auth
from ..users.test_races import THREADS, Server, registration


def register(server, username):
    status, answer = server.request("POST", *registration(username, f"{username}@example.com")[1:3])
    assert status == 201, answer
    return answer["user"]["token"]


def test_concurrent_puts_of_one_article_end_as_one_of_them(make_app):
    server = Server(make_app())
    try:
        token = register(server, "author")
        status, answer = server.request(
            "POST", "/api/articles",
            {"article": {"title": "T", "description": "d", "body": "b", "tagList": ["start"]}},
            auth(token))
        slug = answer["article"]["slug"]
        for round_ in range(3):
            sent = {f"r{round_}w{i}": [f"r{round_}w{i}-a", f"r{round_}w{i}-b"] for i in range(THREADS)}
            answers = server.simultaneously([
                ("PUT", f"/api/articles/{slug}", {"article": {"description": d, "tagList": t}},
                 auth(token))
                for d, t in sent.items()])
            assert [status for status, _ in answers] == [200] * THREADS, answers
            article = server.request("GET", f"/api/articles/{slug}")[1]["article"]
            assert sent[article["description"]] == article["tagList"]
    finally:
        server.stop()


def test_of_concurrent_password_changes_from_several_devices_one_wins(make_app):
    """Serialized, the first change revokes the other devices' tokens: they answer 401."""
    server = Server(make_app())
    try:
        register(server, "devices")
        login = {"user": {"email": "devices@example.com", "password": "password123"}}
        tokens = [server.request("POST", "/api/users/login", login)[1]["user"]["token"]
                  for _ in range(THREADS)]
        answers = server.simultaneously([
            ("PUT", "/api/user", {"user": {"password": f"password-{i}"}}, auth(token))
            for i, token in enumerate(tokens)])
        statuses = [status for status, _ in answers]
        assert sorted(statuses) == [200] + [401] * (THREADS - 1), answers
        winner = statuses.index(200)
        working = [server.request("GET", "/api/user", headers=auth(t))[0] for t in tokens]
        assert working == [200 if i == winner else 401 for i in range(THREADS)]
    finally:
        server.stop()
