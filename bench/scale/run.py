"""One size of the scale bench: a fresh private cluster, seeded, served, checked, timed.

Reads are timed with wrk (``-t1 -c4``, as issue 17 measured them), writes
with sequential requests (each its own transaction; a write changes the data
the next one sees, so one client at a time keeps them comparable across
sizes). Then every count is checked again after the writes, the slowest
statements are read from pg_stat_statements, and their plans are recorded by
auto_explain (ANALYZE, BUFFERS) during one more pass over the endpoints.
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa

from myapp.scripts.initialize_db import upgrade_to_head
from tests.live.cluster import PostgresCluster
from tests.live.server import ROOT, AppServer, production_environ

from ..scenarios import LUA, lua_string
from ..wrk import bench_json
from . import checks
from .seed import SIZES, Shape, load, schema

CLUSTER_SETTINGS = {
    "shared_preload_libraries": "'pg_stat_statements'",
    "max_connections": "200",
    "shared_buffers": "'1GB'",
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "logging_collector": "off",
}


@dataclass
class Timing:
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int = 0


def read_endpoints(found):
    """(name, path, signed in) of every read the bench times."""
    return [
        ("list, anonymous", "/api/articles?limit=20", False),
        ("list, signed in", "/api/articles?limit=20", True),
        ("offset=1000", "/api/articles?limit=20&offset=1000", False),
        ("offset=10000 (the maximum)", "/api/articles?limit=20&offset=10000", False),
        ("cursor, middle of the list", f"/api/articles?limit=20&cursor={found.deep_cursor}", False),
        ("tag= most used", f"/api/articles?limit=20&tag={found.hot_tag}", False),
        ("tag= rare", f"/api/articles?limit=20&tag={found.rare_tag}", False),
        ("author= most prolific", f"/api/articles?limit=20&author={found.prolific}", False),
        ("favorited= busiest", f"/api/articles?limit=20&favorited={found.busiest}", False),
        ("feed (200 follows)", "/api/articles/feed?limit=20", True),
        ("GET /api/tags", "/api/tags", False),
        ("one article", "/api/articles/article-3", True),
        ("viral article (100k favorites)", f"/api/articles/{found.viral}", True),
        ("500 comments, unpaged", f"/api/articles/{found.talked}/comments", False),
        ("10k comments, page of 20", f"/api/articles/{found.discussed}/comments?limit=20", False),
        ("a profile", f"/api/profiles/{found.prolific}", True),
    ]


def wrk(base, path, token, duration):
    paths = "{" + lua_string(path) + "}"
    script = LUA % {"paths": paths, "mode": "GET", "token": token or "", "body": lua_string("")}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(
            ["wrk", "-t1", "-c4", f"-d{duration}s", "--timeout", "10s", "-s", handle.name, base],
            capture_output=True, text=True, timeout=duration + 60,
        )
    finally:
        os.unlink(handle.name)
    data = bench_json(done)
    return Timing(data["p50_us"] / 1000, data["p99_us"] / 1000,
                  data["requests"] / (data["duration_us"] / 1e6), data["non2xx"] + data["socket_errors"])


class Client:
    """One keep-alive connection for sequential writes."""

    def __init__(self, base, token):
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.slugs = []  # of the articles it published

    def send(self, method, path, body=None):
        data = json.dumps(body) if body is not None else None
        self.connection.request(method, path, data, self.headers)
        response = self.connection.getresponse()
        raw = response.read()
        answer = json.loads(raw) if raw else None
        if method == "POST" and path == "/api/articles" and response.status == 201:
            self.slugs.append(answer["article"]["slug"])
        return response.status, answer


def time_writes(server, token, found, rounds):
    """p50/p99/req/s of each write, ``rounds`` times each, sequentially."""
    client = Client(server.base, token)
    results = {}

    def timed(name, calls, wanted):
        seconds, errors = [], 0
        for method, path, body in calls:
            started = time.perf_counter()
            status, answer = client.send(method, path, body)
            seconds.append(time.perf_counter() - started)
            errors += status not in wanted
        seconds.sort()
        results[name] = Timing(statistics.median(seconds) * 1000,
                               seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))] * 1000,
                               len(seconds) / sum(seconds), errors)
        return seconds

    def article(n, tags):
        return {"article": {"title": f"Scale write {n}", "description": "d", "body": "b", "tagList": tags}}

    timed("publish (most used tag)", [("POST", "/api/articles", article(n, [found.hot_tag, "scale"]))
                                      for n in range(rounds)], {201})
    slugs = client.slugs
    timed("update with tags", [("PUT", f"/api/articles/{slug}", {"article": {"tagList": [found.hot_tag, "retagged"]}})
                               for slug in slugs], {200})
    timed("favorite/unfavorite the viral article",
          [(method, f"/api/articles/{found.viral}/favorite", None)
           for _ in range(rounds // 2) for method in ("DELETE", "POST")], {200})
    timed("favorite/unfavorite an ordinary one",
          [(method, "/api/articles/article-5/favorite", None)
           for _ in range(rounds // 2) for method in ("POST", "DELETE")], {200})
    timed("follow/unfollow", [(method, f"/api/profiles/{found.busiest}/follow", None)
                              for _ in range(rounds // 2) for method in ("POST", "DELETE")], {200})
    timed("comment", [("POST", f"/api/articles/{found.discussed}/comments", {"comment": {"body": "Timed."}})
                      for _ in range(rounds)], {201})
    timed("delete", [("DELETE", f"/api/articles/{slug}", None) for slug in slugs], {204})
    return results


def worker_rss_mib(server):
    """RSS of each worker process of the server (children of pserve), MiB."""
    pid = server.process.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(child) for child in handle.read().split()]
    except OSError:
        return []
    sizes = []
    for child in children or [pid]:
        try:
            with open(f"/proc/{child}/status") as status:
                line = next(line for line in status if line.startswith("VmRSS:"))
            sizes.append(int(line.split()[1]) / 1024)
        except (OSError, StopIteration):
            pass
    return sizes


def slowest_statements(admin, database, count=5):
    return admin.execute(
        "SELECT round(mean_exec_time::numeric, 2), calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 300)"
        " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
        " WHERE d.datname = %s AND calls >= 5 AND query NOT ILIKE 'BEGIN%%' AND query NOT ILIKE 'COMMIT%%'"
        " ORDER BY mean_exec_time DESC LIMIT %s", (database, count)).fetchall()


PLAN = re.compile(r"duration: ([0-9.]+) ms\s+plan:\n(.*?)(?=\n\S|\Z)", re.S)


def explain_pass(cluster, database, url, environ, endpoints, token, keep=3):
    """Serve once more with auto_explain (ANALYZE, BUFFERS) on every statement; the
    ``keep`` slowest plans seen while each endpoint is read once."""
    admin = cluster.url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        for name, value in (("session_preload_libraries", "auto_explain"),
                            ("auto_explain.log_min_duration", "0"),
                            ("auto_explain.log_analyze", "on"),
                            ("auto_explain.log_buffers", "on")):
            connection.execute(f'ALTER DATABASE "{database}" SET {name} = \'{value}\'')
    start = os.path.getsize(cluster.logfile)
    with AppServer("production.ini", environ=environ, migrate=False) as server:
        for _, path, signed in endpoints:
            server.request("GET", path, headers={"Authorization": f"Token {token}"} if signed else {})
    with open(cluster.logfile) as log:
        log.seek(start)
        plans = [(float(ms), plan) for ms, plan in PLAN.findall(log.read())]
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{database}" RESET ALL')
    return sorted(plans, reverse=True)[:keep]


def run_size(size, duration=5, rounds=100, explain=True, log=print):
    """Everything for one size; a dict of results. Raises WrongAnswer on a wrong answer."""
    shape = Shape(SIZES[size])
    result = {"size": size, "articles": shape.articles}
    with PostgresCluster(name=f"scale-{size}", settings=CLUSTER_SETTINGS) as cluster:
        database = "scale"
        url = cluster.create_database(database)
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        upgrade_to_head({"sqlalchemy.url": url}, str(ROOT / "development.ini"))
        with psycopg.connect(plain) as connection:
            migrated = schema(connection)
        result["seed"] = load(plain, shape, log=log)
        with psycopg.connect(plain) as connection:
            restored = schema(connection)
        if restored != migrated:
            raise checks.WrongAnswer(f"the schema after the load differs: {set(restored) ^ set(migrated)}")
        log(f"{size}: the schema after the load equals the migrated one")

        environ = production_environ(url)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            found = checks.facts(connection, shape)
        with AppServer("production.ini", environ=environ, migrate=False) as server:
            status, _, answer = server.request("POST", "/api/users", {"user": {
                "username": "reader", "email": "reader@scale.example", "password": "reader-password-1"}})
            found.reader_token = answer["user"]["token"]
            with engine.begin() as connection:
                found.reader_id = connection.execute(sa.text(
                    "SELECT id FROM users WHERE username = 'reader'")).scalar()
                # The reader follows 200 authors, the most prolific ones first.
                connection.execute(sa.text(
                    "INSERT INTO follows (follower_id, followee_id) SELECT :r, author_id FROM articles"
                    " GROUP BY author_id ORDER BY count(*) DESC LIMIT 200"), {"r": found.reader_id})
                middle = shape.articles // 2
                row = connection.execute(sa.text(
                    f"SELECT created_at, id FROM articles ORDER BY created_at DESC, id DESC OFFSET {middle} LIMIT 1"
                )).one()
            from myapp.articles.paging import encode_cursor  # noqa: PLC0415
            found.deep_cursor = encode_cursor(row.created_at, row.id)
            found.extra["middle_offset"] = middle
            for slug in ("article-3", f"article-{shape.articles}", f"article-{shape.articles - 2}"):
                server.request("POST", f"/api/articles/{slug}/favorite",
                               headers={"Authorization": f"Token {found.reader_token}"})
            with engine.connect() as connection:
                checks.check_reads(server, connection, found)
            log(f"{size}: every read answer equals SQL's")

            admin = psycopg.connect(cluster.url().replace("postgresql+psycopg://", "postgresql://"),
                                    autocommit=True)
            admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            admin.execute("SELECT pg_stat_statements_reset()")
            endpoints = read_endpoints(found)
            result["reads"] = {}
            for name, path, signed in endpoints:
                result["reads"][name] = wrk(server.base, path, found.reader_token if signed else "", duration)
                log(f"{size}: {name}: p50 {result['reads'][name].p50_ms:.1f} ms")
            result["writes"] = time_writes(server, found.reader_token, found, rounds)
            result["rss_mib"] = worker_rss_mib(server)
            # Before the checks below: their count(*)s are the bench's statements, not the app's.
            result["slowest"] = slowest_statements(admin, database)
            with engine.connect() as connection:
                result["counted_subjects"] = checks.check_counters(connection)
                checks.check_tag_dates(connection)
                checks.check_reads(server, connection, found)
            log(f"{size}: after the writes every count equals count(*), every tag's created_at its "
                "article's, and every answer SQL's")
            admin.close()
        engine.dispose()
        result["plans"] = explain_pass(cluster, database, url, environ, endpoints, found.reader_token) \
            if explain else []
    return result
