"""The online migrations on a seeded database, timed while the application takes writes.

``python -m bench.scale --migration --sizes 1M`` (and, at 50,000 articles,
tests/live/test_counter_migration.py). A private cluster's database at the
revision before the counters is seeded (set-based SQL), the counters' tables
revision is applied and ``pserve production.ini`` starts on it. Writers then
publish, retag, delete, favorite and unfavorite (old articles and new ones),
and one more writer, the author of many of the seeded articles, retags and
deletes its old articles all over the id range, so that writes meet the
batches. Meanwhile each revision of ``REVISIONS`` is applied and timed.

A write that waited for a lock is found by PostgreSQL itself: with
``log_lock_waits`` and ``deadlock_timeout = LOGGED_WAIT`` every wait longer
than that is logged with the waiting connection's ``application_name`` and,
once the lock is granted, how long it lasted; the application's connections
are named ``myapp pid N`` and the migration's ``MIGRATION_NAME``. Each
revision reports the application's waits over a second and its longest
logged wait (0: none over ``LOGGED_WAIT``). Latency alone would not tell: on
a shared machine a write can be slow without waiting for anything.

Afterwards every count equals ``count(*)``, every tag's ``created_at`` is its
article's, and the indexes are valid; a difference raises ``WrongAnswer``.
"""

import random
import re
import threading
import time

import psycopg
import sqlalchemy as sa

from myapp.auth.passwords import Passwords
from myapp.scripts.initialize_db import upgrade_to_head
from tests.live.cluster import PostgresCluster
from tests.live.counts import counts_from_counters, counts_from_rows
from tests.live.server import ROOT, AppServer, production_environ
from tests.live.test_hot_counters import register_many, until_admitted

from . import checks
from .run import CLUSTER_SETTINGS
from .seed import Shape, load

BEFORE_COUNTERS = "c41e7f2a9b58"
COUNTER_TABLES = "3b9d0c6e1f42"
#: (what, revision), applied in turn while the writes go on; then any later ones ("head").
REVISIONS = [
    ("counters' backfill", "8e2f5a7c9d13"),
    ("tag dates, tag and author page indexes", "5d3a9e7c1b20"),
    ("later revisions", "head"),
]
WRITERS = 4
MIGRATION_NAME = "myapp migration"
OLD_AUTHOR_PASSWORD = "old-author-password-1"
LOGGED_WAIT = "200ms"  # also how soon the deadlock check runs: a private cluster
LOCK_WAIT_SETTINGS = {"log_lock_waits": "on", "deadlock_timeout": f"'{LOGGED_WAIT}'",
                      "log_line_prefix": "'%m [%p] %a: '"}
WAITED = re.compile(r"\[(?P<pid>\d+)\] (?P<name>[^\n]*?): LOG:  process \d+ (?P<state>still waiting for|acquired) "
                    r"(?P<what>.*?) after (?P<ms>[0-9.]+) ms(?P<detail>(\n[^\n]*(DETAIL|STATEMENT):[^\n]*)*)")
VALID_INDEXES = """
SELECT count(*) FILTER (WHERE NOT i.indisvalid), count(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace"""
UNVALIDATED = "SELECT count(*) FROM pg_constraint WHERE NOT convalidated AND connamespace = 'public'::regnamespace"


def writer(server, token, number, stop, outcomes, articles, avoid=frozenset()):
    """Random writes until ``stop``: each (status, seconds, finished at) into ``outcomes``.
    ``avoid``: seeded slugs another writer may delete."""
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
            slug = f"article-{rng.randrange(1, articles + 1)}" if rng.random() < 0.8 or not mine \
                else mine[rng.randrange(len(mine))]
            if slug in avoid:
                continue
            method = "POST" if rng.random() < 0.6 else "DELETE"
            status, _, _ = until_admitted(server, method, f"/api/articles/{slug}/favorite", token=token)
        outcomes.append((status, time.monotonic() - started, time.monotonic()))


def old_author_writer(server, token, slugs, stop, outcomes):
    """Retag (and now and then delete) seeded articles of their author, all over the id range."""
    rng = random.Random(-1)
    slugs = list(slugs)
    while not stop.is_set() and slugs:
        started = time.monotonic()
        slug = slugs.pop(rng.randrange(len(slugs)))
        if rng.random() < 0.1:
            status, _, _ = until_admitted(server, "DELETE", f"/api/articles/{slug}", token=token)
            status = 200 if status == 204 else status
        else:
            status, _, _ = until_admitted(server, "PUT", f"/api/articles/{slug}", {"article": {
                "tagList": [f"tag{rng.randrange(3):03d}", "old", f"old{rng.randrange(50)}"]}}, token)
        outcomes.append((status, time.monotonic() - started, time.monotonic()))


def old_author(server, engine):
    """A token of the seeded author with the most articles (user 1), and up to 500 of its slugs."""
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE users SET password_hash = :h WHERE id = 1"),
                           {"h": Passwords(1, 8, 1).hash(OLD_AUTHOR_PASSWORD)})
        email = connection.execute(sa.text("SELECT email FROM users WHERE id = 1")).scalar()
        slugs = connection.execute(sa.text(
            "SELECT slug FROM articles WHERE author_id = 1 ORDER BY random() LIMIT 500")).scalars().all()
    status, _, answer = server.request("POST", "/api/users/login", {
        "user": {"email": email, "password": OLD_AUTHOR_PASSWORD}})
    assert status == 200, answer
    return answer["user"]["token"], slugs


def watch_lock_waits(admin_url):
    """Log every lock wait over LOGGED_WAIT with the waiter's application_name (a private cluster)."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for name, value in LOCK_WAIT_SETTINGS.items():
            connection.execute(f"ALTER SYSTEM SET {name} = {value}")
        connection.execute("SELECT pg_reload_conf()")


def application_waits(logfile, start):
    """(ms, what) of every lock wait over LOGGED_WAIT of the application's connections logged
    since ``start``, longest first: how long it waited once it got the lock (PostgreSQL logs
    that too), or how long it had waited when logged, when it never got it."""
    with open(logfile) as log:
        log.seek(start)
        text = log.read()
    waits, open_waits = [], {}
    for m in WAITED.finditer(text):
        if not m["name"].startswith("myapp pid"):
            continue
        key = (m["pid"], m["what"])
        if m["state"] == "acquired":
            open_waits.pop(key, None)
            waits.append((float(m["ms"]), f"acquired {m['what']}"))
        else:
            open_waits[key] = (float(m["ms"]), f"still waiting for {m['what']}{m['detail']}")
    return sorted(waits + list(open_waits.values()), reverse=True)


def migrate_while_writing(cluster, database_url, articles, log=print):
    """Seed ``articles`` at the revision before the counters, then apply ``REVISIONS`` while
    the writers write; a dict of results per revision. Raises WrongAnswer on a wrong result."""
    settings = {"sqlalchemy.url": database_url}
    migration = {"sqlalchemy.url": f"{database_url}?application_name={MIGRATION_NAME.replace(' ', '%20')}"}
    ini = str(ROOT / "development.ini")
    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    upgrade_to_head(settings, ini, BEFORE_COUNTERS)
    seeded = load(plain, Shape(articles), log=log, counters=False)
    upgrade_to_head(settings, ini, COUNTER_TABLES)
    watch_lock_waits(cluster.url().replace("postgresql+psycopg://", "postgresql://"))
    engine = sa.create_engine(database_url)
    results = {"articles": articles, "seeded_seconds": seeded["total"], "revisions": []}
    with AppServer("production.ini", environ=production_environ(database_url), migrate=False) as server:
        stop, outcomes = threading.Event(), []
        tokens = register_many(server, "during", WRITERS)
        author_token, old_slugs = old_author(server, engine)
        threads = [threading.Thread(target=writer,
                                    args=(server, token, n, stop, outcomes, articles, frozenset(old_slugs)))
                   for n, token in enumerate(tokens)]
        threads.append(threading.Thread(target=old_author_writer,
                                        args=(server, author_token, old_slugs, stop, outcomes)))
        for thread in threads:
            thread.start()
        try:
            time.sleep(1)
            for what, revision in REVISIONS:
                log_start = _size(cluster.logfile)
                started = time.monotonic()
                upgrade_to_head(migration, ini, revision)
                ended = time.monotonic()
                during = [(status, seconds) for status, seconds, at in outcomes if started <= at <= ended]
                waits = application_waits(cluster.logfile, log_start)
                results["revisions"].append({
                    "what": what, "revision": revision, "seconds": ended - started, "writes": len(during),
                    "longest_write_ms": max((s for _, s in during), default=0) * 1000,
                    "waits_over_1s": [(ms, lock) for ms, lock in waits if ms > 1000],
                    "longest_wait_ms": max((ms for ms, _ in waits), default=0),
                })
                log(f"{what} ({revision}) on {articles} articles: {ended - started:.1f} s, "
                    f"{len(during)} writes meanwhile, longest {results['revisions'][-1]['longest_write_ms']:.0f} ms, "
                    f"{len(results['revisions'][-1]['waits_over_1s'])} lock waits over 1 s "
                    f"(longest wait {results['revisions'][-1]['longest_wait_ms']:.0f} ms)")
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        if any(thread.is_alive() for thread in threads):
            raise RuntimeError("a writer is still writing a minute after the end: counts not compared")
        results["statuses"] = sorted({status for status, _, _ in outcomes})
        results["writes"] = len(outcomes)
        # One snapshot for both counts: a write committed between two statements would differ.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            if connection.execute(sa.text("SELECT count(*) FROM counter_backfill")).scalar():
                raise checks.WrongAnswer("the counters' backfill did not finish")
            by_counters, by_rows = counts_from_counters(connection), counts_from_rows(connection)
            if by_counters != by_rows:
                wrong = sorted((key, by_counters.get(key), by_rows.get(key))
                               for key in set(by_counters) ^ set(by_rows) | {
                                   key for key in by_counters if by_counters[key] != by_rows.get(key)})[:10]
                raise checks.WrongAnswer("maintained counts differ from count(*) after the migration "
                                         f"((kind, subject), counters, rows): {wrong}")
            checks.check_tag_dates(connection)
            invalid, indexes = connection.execute(sa.text(VALID_INDEXES)).one()
            if invalid or connection.execute(sa.text(UNVALIDATED)).scalar():
                raise checks.WrongAnswer(f"{invalid} of {indexes} indexes invalid, or a constraint not validated")
        status, _, page = server.request("GET", "/api/articles?limit=1")
        results["articles_count"] = page["articlesCount"]
    engine.dispose()
    return results


def _size(path):
    try:
        with open(path) as handle:
            return handle.seek(0, 2)
    except OSError:
        return 0


def run_migration(size, articles, log=print):
    """``migrate_while_writing`` on a private cluster of its own (the bench's settings)."""
    with PostgresCluster(name=f"migration-{size}", settings=CLUSTER_SETTINGS) as cluster:
        url = cluster.create_database("migration")
        return {"size": size, **migrate_while_writing(cluster, url, articles, log)}
