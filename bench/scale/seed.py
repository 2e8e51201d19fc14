"""A database the way a real one looks, written with set-based SQL (PostgreSQL).

The shape (issue 17): users = articles / 10; 3-5 tags per article from 1,000
tags, Zipf-like (``tag = floor(1000 * random()^3)``: four draws, so the
most used tag is on ~35% of the articles); 0-10 favorites per article; 0-4
comments per article, plus one article with 500; the reader follows 200
authors. Authors are skewed too (``floor(users * random()^3)``: user 1
writes the most). Two viral articles: one favorited by every user up to
100,000, one with 10,000 comments. ``article_tags.created_at`` (from the
revision that adds it) is written as the article's, so its trigger has
nothing to fill.

``load`` drops the tables' indexes and constraints, fills the tables in a
few INSERT ... SELECT statements, then restores every index and constraint
from their own definitions (``pg_get_indexdef``/``pg_get_constraintdef``),
resets the sequences, fills the counters from the rows and runs VACUUM
ANALYZE. ``schema`` describes the schema, so the caller checks that the
restored one equals the migrated one. Deterministic: ``setseed`` first.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from myapp.articles.counters import RECOUNT

TABLES = ("users", "follows", "articles", "article_tags", "favorites", "comments")
TAGS = 1000
FOLLOWS = 200
VIRAL_FAVORITES = 100_000
VIRAL_COMMENTS = 10_000
DISCUSSED_COMMENTS = 500
BASE_TIME = "2020-01-01 00:00:00+00"
#: A prime larger than any user count up to 10M articles: an article's k-th
#: favoriter ``(a * 7919 + k * SPREAD) % (users - 1)`` differs for every k, so
#: no DISTINCT over millions of rows is needed.
SPREAD = 1_000_003


@dataclass
class Shape:
    articles: int

    @property
    def users(self):
        return max(self.articles // 10, FOLLOWS + 2)

    @property
    def reader(self):
        """The signed-in reader: the last user (writes nothing, follows 200)."""
        return self.users

    @property
    def viral(self):
        """The article favorited by every user (up to 100,000)."""
        return self.articles // 2

    @property
    def discussed(self):
        """The article with 10,000 comments."""
        return self.articles // 2 + 1

    @property
    def talked(self):
        """The article with 500 comments."""
        return self.articles // 2 + 2


SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}


def _statements(shape, tag_dates=True):
    """``tag_dates``: article_tags has created_at (the article's; a revision before it has not)."""
    n, u = shape.articles, shape.users
    date_column, date = (", created_at", f", timestamptz '{BASE_TIME}' + a * interval '1 minute'") \
        if tag_dates else ("", "")
    return [
        ("users", f"""
INSERT INTO users (id, username, email, username_key, email_key, password_hash, token_version,
                   bio, image, created_at, updated_at)
SELECT g, 'user' || g, 'user' || g || '@scale.example', 'user' || g, 'user' || g || '@scale.example',
       '-', 0, 'Bio of user ' || g, NULL, timestamptz '{BASE_TIME}', timestamptz '{BASE_TIME}'
FROM generate_series(1, {u}) g"""),
        ("follows", f"""
INSERT INTO follows (follower_id, followee_id)
SELECT {shape.reader}, g FROM generate_series(1, {FOLLOWS}) g"""),
        ("articles", f"""
INSERT INTO articles (id, slug, title, description, body, author_id, created_at, updated_at)
SELECT g, 'article-' || g, 'Article ' || g, 'What article ' || g || ' is about',
       repeat('Lorem ipsum dolor sit amet. ', 1 + g % 3),
       1 + floor(({u} - 1) * power(random(), 3))::int,
       timestamptz '{BASE_TIME}' + g * interval '1 minute',
       timestamptz '{BASE_TIME}' + g * interval '1 minute'
FROM generate_series(1, {n}) g"""),
        ("article_tags", f"""
INSERT INTO article_tags (article_id, name{date_column})
SELECT DISTINCT a, 'tag' || lpad(floor({TAGS} * power(random(), 3))::int::text, 3, '0'){date}
FROM generate_series(1, {n}) a, generate_series(1, 5) k
WHERE k <= 3 + a % 3"""),
        ("favorites", f"""
INSERT INTO favorites (user_id, article_id, created_at)
SELECT 1 + (a::bigint * 7919 + k * {SPREAD}) % ({u} - 1), a, timestamptz '{BASE_TIME}'
FROM generate_series(1, {n}) a, generate_series(1, 10) k
WHERE k <= a % 11 AND a <> {shape.viral}
UNION ALL
SELECT g, {shape.viral}, timestamptz '{BASE_TIME}' FROM generate_series(1, least({u}, {VIRAL_FAVORITES})) g"""),
        ("comments", f"""
INSERT INTO comments (body, article_id, author_id, created_at, updated_at)
SELECT 'Comment ' || k || ' on article ' || a || ': well said.', a,
       1 + floor(({u} - 1) * random())::int,
       timestamptz '{BASE_TIME}' + a * interval '1 minute' + k * interval '1 second',
       timestamptz '{BASE_TIME}' + a * interval '1 minute' + k * interval '1 second'
FROM generate_series(1, {n}) a, generate_series(1, 4) k
WHERE k <= a % 5 AND a NOT IN ({shape.discussed}, {shape.talked})
UNION ALL
SELECT 'Comment ' || k || ' on the discussed article', {shape.discussed}, 1 + k % {u},
       timestamptz '{BASE_TIME}' + k * interval '1 second', timestamptz '{BASE_TIME}' + k * interval '1 second'
FROM generate_series(1, {VIRAL_COMMENTS}) k
UNION ALL
SELECT 'Comment ' || k || ' on the talked-about article', {shape.talked}, 1 + k % {u},
       timestamptz '{BASE_TIME}' + k * interval '1 second', timestamptz '{BASE_TIME}' + k * interval '1 second'
FROM generate_series(1, {DISCUSSED_COMMENTS}) k"""),
    ]


SCHEMA_QUERY = """
SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ': ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'column ' || table_name || '.' || column_name || ': ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY 1"""


def schema(connection):
    """Every index, constraint and column of the public schema, one line each."""
    return [row[0] for row in connection.execute(SCHEMA_QUERY)]


def _drop_indexes_and_constraints(connection):
    """Drop them on TABLES; the statements that recreate them, in order."""
    constraints = connection.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
           FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)""",
        (list(TABLES),),
    ).fetchall()
    owned = {name for _, name, _, _ in constraints}
    indexes = connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)",
        (list(TABLES),),
    ).fetchall()
    # Foreign keys first (they need the keys they point at), then the rest.
    for table, name, _, contype in sorted(constraints, key=lambda c: c[3] != "f"):
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    plain = [(name, ddl) for name, ddl in indexes if name not in owned]
    for name, _ in plain:
        connection.execute(f'DROP INDEX "{name}"')
    order = {"p": 0, "u": 1, "c": 2, "f": 3}
    restore = [ddl for _, ddl in plain]
    restore += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition, contype in sorted(constraints, key=lambda c: order.get(c[3], 9))
    ]
    return restore


def _restore(url, statements):
    """Run ``statements`` on two connections (two cores): indexes and keys by table, then
    the foreign keys (they need the keys)."""
    def run(group):
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("SET maintenance_work_mem = '1GB'")
            for ddl in group:
                connection.execute(ddl)

    foreign = [ddl for ddl in statements if " FOREIGN KEY " in ddl]
    by_table = {}
    for ddl in statements:
        if ddl not in foreign:
            table = ddl.split(" ON ", 1)[1].split()[0] if ddl.startswith("CREATE") else ddl.split()[2]
            by_table.setdefault(table.removeprefix("public."), []).append(ddl)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, sorted(by_table.values(), key=len, reverse=True)))
        list(pool.map(run, [foreign[0::2], foreign[1::2]]))


def load(url, shape, log=print, counters=True):
    """Fill the (migrated, empty) database at ``url``; the seconds each step took.

    ``counters``: fill them from the rows (False: a database migrated to a
    revision before them, for the migration's own test)."""
    timings = {}
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '512MB'")
        connection.execute("SET work_mem = '256MB'")
        connection.execute("SET max_parallel_maintenance_workers = 2")
        connection.execute("SELECT setseed(0.17)")
        started = time.monotonic()
        restore = _drop_indexes_and_constraints(connection)
        tag_dates = connection.execute(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'article_tags' AND column_name = 'created_at'").fetchone()[0] > 0
        for table, sql in _statements(shape, tag_dates):
            began = time.monotonic()
            connection.execute(sql)
            timings[table] = time.monotonic() - began
            log(f"seeded {table} in {timings[table]:.1f} s")
        began = time.monotonic()
        _restore(url, restore)
        timings["indexes and constraints"] = time.monotonic() - began
        log(f"restored {len(restore)} indexes and constraints in {timings['indexes and constraints']:.1f} s")
        for table in ("users", "articles", "comments"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        if counters:
            began = time.monotonic()
            connection.execute("DELETE FROM counter_backfill")
            connection.execute("DELETE FROM counters")
            connection.execute(RECOUNT.text)
            timings["counters"] = time.monotonic() - began
        began = time.monotonic()
        connection.execute("VACUUM ANALYZE")
        timings["vacuum analyze"] = time.monotonic() - began
        timings["total"] = time.monotonic() - started
        log(f"seeded {shape.articles} articles in {timings['total']:.1f} s")
    return timings
