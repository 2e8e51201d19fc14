"""The counters' migration on a seeded database while the application takes writes.

A private cluster's database at the revision before the counters is filled
with 50,000 articles (bench.scale.seed, set-based SQL). The first revision
(the tables) is applied, ``pserve production.ini`` starts on it, and
writers publish, retag, delete, favorite and unfavorite (old articles and new
ones) while the second revision fills the counters in batches. Afterwards
every count equals ``count(*)`` of its rows, every write succeeded, and the
longest write is printed (-s): each batch holds its locks well under a second.
"""

import random
import threading
import time

import sqlalchemy as sa

from bench.scale.seed import Shape, load
from myapp.scripts.initialize_db import upgrade_to_head

from .counts import counts_from_counters, counts_from_rows
from .server import ROOT, AppServer, production_environ
from .test_hot_counters import register_many, until_admitted

BEFORE_COUNTERS = "c41e7f2a9b58"
COUNTER_TABLES = "3b9d0c6e1f42"
ARTICLES = 50_000
WRITERS = 4


def writer(server, token, number, stop, outcomes):
    rng = random.Random(number)
    mine = []
    while not stop.is_set():
        choice = rng.random()
        started = time.monotonic()
        if choice < 0.25 or not mine:
            status, answer, _ = until_admitted(server, "POST", "/api/articles", {"article": {
                "title": f"During {number} {len(mine)}", "description": "d", "body": "b",
                "tagList": [f"tag{rng.randrange(5):03d}", "during"]}}, token)
            if status == 201:
                mine.append(answer["article"]["slug"])
        elif choice < 0.35:
            slug = mine[rng.randrange(len(mine))]
            status, _, _ = until_admitted(server, "PUT", f"/api/articles/{slug}", {"article": {
                "tagList": [f"tag{rng.randrange(5):03d}", "retagged"]}}, token)
        elif choice < 0.4:
            status, _, _ = until_admitted(server, "DELETE", f"/api/articles/{mine.pop()}", token=token)
            status = 200 if status == 204 else status
        else:
            # Old articles (counted by the backfill, before or after this write) and new ones.
            slug = f"article-{rng.randrange(1, ARTICLES + 1)}" if rng.random() < 0.8 or not mine \
                else mine[rng.randrange(len(mine))]
            method = "POST" if rng.random() < 0.6 else "DELETE"
            status, _, _ = until_admitted(server, method, f"/api/articles/{slug}/favorite", token=token)
        outcomes.append((status, time.monotonic() - started))


def test_the_backfill_counts_exactly_while_writes_go_on(private_cluster, private_database):
    settings = {"sqlalchemy.url": private_database}
    ini = str(ROOT / "development.ini")
    upgrade_to_head(settings, ini, BEFORE_COUNTERS)
    plain_url = private_database.replace("postgresql+psycopg://", "postgresql://")
    load(plain_url, Shape(ARTICLES), log=lambda message: None, counters=False)
    upgrade_to_head(settings, ini, COUNTER_TABLES)

    engine = sa.create_engine(private_database)
    with AppServer("production.ini", environ=production_environ(private_database), migrate=False) as server:
        tokens = register_many(server, "during", WRITERS)
        stop, outcomes = threading.Event(), []
        threads = [
            threading.Thread(target=writer, args=(server, token, n, stop, outcomes))
            for n, token in enumerate(tokens)
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1)
            started = time.monotonic()
            upgrade_to_head(settings, ini)  # the batched backfill, writes going on
            backfill = time.monotonic() - started
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        statuses = [status for status, _ in outcomes]
        slowest = max(seconds for _, seconds in outcomes)
        print(f"\nbackfill of {ARTICLES} articles: {backfill:.1f} s, with {len(outcomes)} writes going on; "
              f"longest write {slowest * 1000:.0f} ms")
        assert set(statuses) == {200, 201}, sorted(set(statuses))
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM counter_backfill")).scalar() == 0
            by_counters, by_rows = counts_from_counters(connection), counts_from_rows(connection)
        assert by_counters == by_rows
        status, _, page = server.request("GET", "/api/articles?limit=1")
        assert page["articlesCount"] == by_rows[("articles", "")]
    engine.dispose()
