"""Hot counters under concurrent writers, against ``pserve production.ini``.

100 publishes at once, all with the most used tag, and 100 users favoriting
one article at once: every answer is a success (no deadlock, no lock
timeout, nothing retried into a failure), and afterwards every maintained
count equals ``count(*)`` of its rows. The throughput is printed (-s).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from .counts import counts_from_counters, counts_from_rows
from .server import AppServer, production_environ

WRITERS = 100


def register_many(server, prefix, count):
    def one(n):
        name = f"{prefix}{n}"
        status, _, answer = server.request("POST", "/api/users", {
            "user": {"username": name, "email": f"{name}@hot.example", "password": "hot-password-1"}})
        assert status == 201, answer
        return answer["user"]["token"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def until_admitted(server, method, path, body=None, token=None, attempts=200):
    """The request, sent again while the server sheds load (503 with Retry-After), as
    a client is told to; (status, answer, 503s seen)."""
    shed = 0
    for _ in range(attempts):
        status, headers, answer = server.request(
            method, path, body, headers={"Authorization": f"Token {token}"}, timeout=60)
        if status != 503:
            return status, answer, shed
        shed += 1
        time.sleep(min(float(headers.get("Retry-After") or 0.05), 0.2))
    raise AssertionError(f"{method} {path}: still 503 after {attempts} attempts")


def all_at_once(calls):
    """Run every call at once (one thread each); (answers, seconds)."""
    started = time.monotonic()
    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(lambda call: call(), calls))
    return answers, time.monotonic() - started


def test_hot_counters_take_concurrent_writers_without_deadlocks_or_lost_counts(private_cluster, private_database):
    engine = sa.create_engine(private_database)
    with AppServer("production.ini", environ=production_environ(private_database)) as server:
        tokens = register_many(server, "hot", WRITERS)

        def publish(n):
            return lambda: until_admitted(server, "POST", "/api/articles", {"article": {
                "title": f"Hot {n}", "description": "d", "body": "b", "tagList": ["hot", f"own{n % 7}"]}},
                tokens[n])

        answers, publishing = all_at_once([publish(n) for n in range(WRITERS)])
        assert [status for status, _, _ in answers] == [201] * WRITERS, answers
        viral = answers[0][1]["article"]["slug"]

        def toggle(n, method):
            return lambda: until_admitted(server, method, f"/api/articles/{viral}/favorite", token=tokens[n])

        answers, favoriting = all_at_once([toggle(n, "POST") for n in range(WRITERS)])
        assert [status for status, _, _ in answers] == [200] * WRITERS, answers
        # Half take theirs back while the other half favorite again (no change): both at once.
        answers, toggling = all_at_once(
            [toggle(n, "DELETE" if n % 2 else "POST") for n in range(WRITERS)])
        assert [status for status, _, _ in answers] == [200] * WRITERS, answers

        shed = sum(answer[2] for answer in answers)
        print(f"\n({shed} answers 503 to the last round, sent again) {WRITERS} concurrent publishes with one tag: {WRITERS / publishing:.0f}/s; "
              f"favorites of one article: {WRITERS / favoriting:.0f}/s; "
              f"mixed favorite/unfavorite: {WRITERS / toggling:.0f}/s")

        status, _, page = server.request("GET", "/api/articles?tag=hot&limit=1")
        assert status == 200 and page["articlesCount"] == WRITERS
        status, _, tags = server.request("GET", "/api/tags")
        assert tags["tags"][0] == "hot"
        status, _, article = server.request("GET", f"/api/articles/{viral}")
        assert article["article"]["favoritesCount"] == WRITERS // 2
        with engine.connect() as connection:
            assert counts_from_counters(connection) == counts_from_rows(connection)
            deadlocks = connection.execute(sa.text(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar()
        assert deadlocks == 0
        assert "deadlock" not in server.output().lower()
    engine.dispose()
