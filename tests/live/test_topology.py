"""Beyond one database: a primary, a streaming standby, PgBouncer in transaction mode.

Private servers on loopback (never the machine's shared PostgreSQL), torn
down at the end: a primary cluster, a standby made with ``pg_basebackup -R``,
and a PgBouncer (transaction pooling, 4 server connections) in front of the
primary. ``pserve production.ini`` writes through PgBouncer and reads from
the standby. Which server answered is read from both sides: the access
log's ``db`` field (found by the X-Request-ID sent) and the standby's own
statement log (``log_statement = all``).
"""

import json
from concurrent.futures import ThreadPoolExecutor
import time
import uuid

import pytest
import redis
import webtest

from myapp import make_config

from ..conftest import BASE_SETTINGS, migrate
from ..helpers import auth, create_article, register
from .cluster import (
    REPLICATION_SETTINGS,
    PostgresCluster,
    free_port,
    replayed_up_to_primary,
    require,
    standby_of,
)
from .pgbouncer import PgBouncer
from .server import AppServer, production_environ

DATABASE = "myapp_topology"
APPLICATION_NAME = "myapp-topology"


@pytest.fixture(scope="module")
def servers():
    """(primary, standby, pgbouncer), started; everything removed at the end."""
    with PostgresCluster("primary", settings=REPLICATION_SETTINGS) as primary:
        primary.create_database(DATABASE)
        with PgBouncer(primary.port) as bouncer:
            # Every statement in the standby's log, with the client's application_name.
            standby = standby_of(
                primary, settings={"log_statement": "'all'", "log_line_prefix": "'%a '"}
            )
            try:
                yield primary, standby, bouncer
            finally:
                standby.destroy()


def app_environ(bouncer, namespace, replicas=()):
    """production.ini through PgBouncer, with these replica URLs."""
    suffix = f"?application_name={APPLICATION_NAME}"
    return production_environ(
        bouncer.url(DATABASE) + suffix,
        MYAPP_DB_BEHIND_PGBOUNCER="true",
        MYAPP_REPLICA_URLS=" ".join(url + suffix for url in replicas),
        MYAPP_REDIS_NAMESPACE=namespace,
    )


def redis_is_up():
    try:
        return redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def app(servers):
    require(redis_is_up(), "Redis is not running at 127.0.0.1:6379 (read-your-writes keeps positions there)")
    primary, standby, bouncer = servers
    namespace = f"myapp-test-{uuid.uuid4().hex[:8]}"
    environ = app_environ(bouncer, namespace, [standby.url(DATABASE)])
    try:
        with AppServer("production.ini", environ=environ) as server:
            yield server
    finally:
        store = redis.Redis(host="127.0.0.1", port=6379)
        for key in store.scan_iter(f"{namespace}:*"):
            store.delete(key)


def access_line(server, request_id):
    """The access-log line of the request sent with ``request_id``."""
    for line in server.output().splitlines():
        if line.startswith("{") and f'"request_id":"{request_id}"' in line:
            return json.loads(line)
    raise AssertionError(f"no access-log line for {request_id}:\n{server.output()[-3000:]}")


def call(server, method, path, token=None, body=None):
    """(status, JSON, which database served it) of one request."""
    request_id = uuid.uuid4().hex
    headers = {"X-Request-ID": request_id}
    if token:
        headers["Authorization"] = f"Token {token}"
    status, _, answer = server.request(method, path, body, headers)
    return status, answer, access_line(server, request_id)["db"]


def sign_up(server, name):
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "topology-pw"}}
    status, answer, database = call(server, "POST", "/api/users", body=body)
    assert (status, database) == (201, "primary"), answer
    return answer["user"]["token"]


def publish(server, token, title):
    body = {"article": {"title": title, "description": "d", "body": "b"}}
    status, answer, database = call(server, "POST", "/api/articles", token, body)
    assert (status, database) == (201, "primary"), answer
    return answer["article"]["slug"]


def standby_name(standby):
    return f"127.0.0.1:{standby.port}"


#: production.ini's replica_check_interval_seconds: each process learns a standby's
#: progress from a check at most this old (requests never probe a replica).
CHECK_INTERVAL = 1


def app_knows_replayed(primary, standby):
    """Wait until the standby has replayed everything, and every app process has seen it."""
    replayed_up_to_primary(primary, standby)
    time.sleep(2.5 * CHECK_INTERVAL)


def read_until_served_by(server, database, token=None, timeout=20):
    """Read (every answer 200) until ``database`` serves a read or ``timeout`` passes;
    the database that served the last read."""
    deadline = time.monotonic() + timeout
    served_by = None
    while time.monotonic() < deadline and served_by != database:
        time.sleep(0.2)
        status, _, served_by = call(server, "GET", "/api/articles", token)
        assert status == 200
    return served_by


def metric(server, name, **labels):
    """One sample of the app's /metrics (the tests reach it from loopback), 0 when absent."""
    status, _, body = server.request("GET", "/metrics")
    assert status == 200
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in body.decode().splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def metric_settles(server, name, wanted, timeout=10 * CHECK_INTERVAL, **labels):
    """Whether ``metric`` reads ``wanted`` before ``timeout`` passes (it is read until then)."""
    deadline = time.monotonic() + timeout
    while metric(server, name, **labels) != wanted:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_reads_are_served_by_the_standby_and_writes_by_the_primary(servers, app):
    primary, standby, _ = servers
    token = sign_up(app, "topo_writer")
    slug = publish(app, token, "Replicated")
    assert primary.psql(f"SELECT title FROM articles WHERE slug = '{slug}'", DATABASE) == "Replicated"

    app_knows_replayed(primary, standby)
    status, page, database = call(app, "GET", "/api/articles?limit=20")
    assert (status, database) == (200, standby_name(standby))
    assert slug in [article["slug"] for article in page["articles"]]
    # The writer's own reads go to the standby too once it has replayed the write.
    status, article, database = call(app, "GET", f"/api/articles/{slug}", token)
    assert (status, article["article"]["title"], database) == (200, "Replicated", standby_name(standby))
    # And from the standby's side: the app's connection there ran the read of that slug.
    with open(standby.logfile) as log:
        lines = log.read().splitlines()
    assert any(line.startswith(APPLICATION_NAME) and slug in line for line in lines)


def test_with_replay_paused_a_writer_reads_its_write_while_others_may_read_the_standby(
    servers, app
):
    primary, standby, _ = servers
    writer = sign_up(app, "paused_writer")
    reader = sign_up(app, "paused_reader")
    app_knows_replayed(primary, standby)
    behind = {"replica": standby_name(standby), "reason": "behind_client"}
    fallbacks = metric(app, "myapp_replica_fallbacks_total", **behind)
    standby.psql("SELECT pg_wal_replay_pause()")
    try:
        slug = publish(app, writer, "Not on the standby yet")
        status, article, database = call(app, "GET", f"/api/articles/{slug}", writer)
        assert (status, database) == (200, "primary")
        assert article["article"]["title"] == "Not on the standby yet"

        status, page, database = call(app, "GET", "/api/articles?limit=100", reader)
        assert (status, database) == (200, standby_name(standby))
        assert slug not in [item["slug"] for item in page["articles"]]  # stale for others: allowed
        assert metric(app, "myapp_replica_fallbacks_total", **behind) == fallbacks + 1
    finally:
        standby.psql("SELECT pg_wal_replay_resume()")


def test_a_stopped_standby_costs_no_error_and_is_used_again_when_back(servers, app):
    primary, standby, _ = servers
    token = sign_up(app, "outage_reader")
    app_knows_replayed(primary, standby)
    assert call(app, "GET", "/api/articles", token)[2] == standby_name(standby)

    standby.stop()
    try:
        answers = [
            call(app, "GET", path, token)
            for _ in range(10)
            for path in ("/api/articles?limit=20", "/api/tags", "/api/user")
        ]
        assert [status for status, _, _ in answers] == [200] * len(answers)
        assert {database for _, _, database in answers} == {"primary"}
        down = {"replica": standby_name(standby), "reason": "down"}
        assert metric(app, "myapp_replica_fallbacks_total", **down) >= len(answers)
        # The gauge is the highest over the live worker processes; one that served none
        # of these reads learns of the outage from its own check, one interval later.
        assert metric_settles(app, "myapp_replica_lag_seconds", -1, replica=standby_name(standby))
    finally:
        standby.start()

    assert read_until_served_by(app, standby_name(standby), token) == standby_name(standby)
    assert metric(app, "myapp_replica_lag_seconds", replica=standby_name(standby)) >= 0


def test_behind_pgbouncer_no_statement_is_prepared_whatever_else_asks(servers):
    """psycopg's prepared statements live on one server connection; in transaction
    mode the next transaction may run on another one. ``connect_args`` asking to
    prepare every statement at once (as a speed setting would) must not break it."""
    primary, _, bouncer = servers
    database = f"myapp_prepared_{uuid.uuid4().hex[:8]}"
    migrate(primary.create_database(database))
    settings = {
        **BASE_SETTINGS,
        "sqlalchemy.url": bouncer.url(database),
        "sqlalchemy.connect_args": {"prepare_threshold": 0},
        "myapp.db_behind_pgbouncer": "true",
    }
    wsgi_app = make_config(settings).make_wsgi_app()

    def client(number):
        """One user's writes and reads; four of them at once use four pool connections."""
        app = webtest.TestApp(wsgi_app)
        token, _ = register(app, f"prepared{number}")
        for round_ in range(5):
            slug = create_article(app, token, title=f"Prepared {round_}")["slug"]
            app.get(f"/api/articles/{slug}", headers=auth(token), status=200)
            app.get("/api/articles", params={"limit": "20"}, headers=auth(token), status=200)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(client, range(4)))
    finally:
        wsgi_app.registry["dbsession_factory"].kw["bind"].dispose()


def test_without_redis_signed_in_reads_use_the_primary_and_nothing_fails(servers):
    """Where a user's last write is unknown, their reads go to the primary."""
    primary, standby, bouncer = servers
    environ = app_environ(bouncer, "unused", [standby.url(DATABASE)])
    environ["MYAPP_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with AppServer("production.ini", environ=environ) as server:
        token = sign_up(server, "no_redis")
        app_knows_replayed(primary, standby)
        assert call(server, "GET", "/api/user", token)[::2] == (200, "primary")
        assert call(server, "GET", "/api/articles")[::2] == (200, standby_name(standby))
        assert "cannot record write positions in Redis" in server.output()


def test_a_standby_lagging_past_the_bound_is_skipped_until_it_catches_up(servers):
    primary, standby, bouncer = servers
    environ = app_environ(bouncer, f"myapp-test-{uuid.uuid4().hex[:8]}", [standby.url(DATABASE)])
    environ["MYAPP_REPLICA_MAX_LAG_SECONDS"] = "1"
    lagging = {"replica": standby_name(standby), "reason": "lagging"}
    with AppServer("production.ini", environ=environ) as server:
        token = sign_up(server, "lag_writer")
        app_knows_replayed(primary, standby)
        assert call(server, "GET", "/api/articles")[::2] == (200, standby_name(standby))
        standby.psql("SELECT pg_wal_replay_pause()")
        try:
            publish(server, token, "Received, not replayed")
            time.sleep(2.5)  # past the 1 s bound, and past the 1 s health-check interval
            assert call(server, "GET", "/api/articles")[::2] == (200, "primary")
            assert metric(server, "myapp_replica_fallbacks_total", **lagging) >= 1
        finally:
            standby.psql("SELECT pg_wal_replay_resume()")
        assert read_until_served_by(server, standby_name(standby)) == standby_name(standby)
