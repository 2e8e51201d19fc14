"""Dependable when the database hangs and when clients misbehave, against real servers.

``pserve production.ini`` (gunicorn, 2 worker processes) on a private
PostgreSQL cluster that the tests lock, freeze and thaw. Budgets are
shortened through ini variables so the tests stay fast; every latency bound
is generous (2x the budget plus a margin), never a benchmark figure. Each
test prints its figures.
"""

import concurrent.futures
import email.utils
import os
import socket
import time

import psycopg
import pytest

from .server import AppServer, production_environ

WORKERS = 2
MAX_BUSY = 4
MAX_QUEUED = 8
QUEUE_BUDGET = 1  # shortened queue_timeout: below the lock budget, to tell them apart
THREADS = MAX_BUSY + MAX_QUEUED + 4  # as production.ini: a thread for each, and spare ones
LOCK_BUDGET = 2  # production.ini's default db_lock_timeout
REQUEST_BUDGET = 3  # shortened db_request_timeout
CONNECT_BUDGET = 5  # longer than production's 2 s: connecting is slow on a busy machine
LIVENESS_BOUND = 1.0
MAX_BODY = 1048576
NEW_ARTICLE = {"article": {"title": "Held", "description": "d", "body": "b"}}


@pytest.fixture(scope="module")
def server(private_cluster):
    database = private_cluster.create_database("reliability")
    with AppServer(
        "production.ini",
        config_vars={"threads": THREADS, "max_busy_requests": MAX_BUSY,
                     "max_queued_requests": MAX_QUEUED, "queue_timeout": QUEUE_BUDGET,
                     "db_request_timeout": REQUEST_BUDGET, "db_connect_timeout": CONNECT_BUDGET},
        environ=production_environ(database, WEB_CONCURRENCY=str(WORKERS)),
    ) as app_server:
        yield app_server


@pytest.fixture(scope="module")
def writer(server):
    """A registered user's headers."""
    body = {"user": {"username": "writer", "email": "writer@example.com",
                     "password": "writer-password"}}
    status, _, answer = server.request("POST", "/api/users", body)
    assert status == 201, answer
    return {"Authorization": f"Token {answer['user']['token']}"}


def timed(server, method, path, body=None, headers=None, timeout=30):
    started = time.monotonic()
    status, answer_headers, answer = server.request(method, path, body, headers, timeout=timeout)
    return status, answer_headers, answer, time.monotonic() - started


def in_parallel(calls, workers=32):
    """Run every call at once (bounded pool); their results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(calls))) as pool:
        return [future.result(timeout=120) for future in [pool.submit(call) for call in calls]]


def app_connections(cluster):
    """(application_name, state) of every connection the app's processes hold."""
    rows = cluster.psql(
        "SELECT application_name || '|' || coalesce(state, '') FROM pg_stat_activity "
        "WHERE application_name LIKE 'myapp pid %' ORDER BY 1", "reliability")
    return [tuple(row.split("|")) for row in rows.splitlines() if row]


def worker_pids(server):
    with open(f"/proc/{server.process.pid}/task/{server.process.pid}/children") as children:
        return {int(pid) for pid in children.read().split()}


def assert_unavailable(status, headers, answer):
    assert status == 503, answer
    assert headers["Retry-After"] == "1"
    assert set(answer["errors"]) <= {"database", "server"}, answer


def assert_all_unavailable_within(answers, bound):
    for status, headers, answer, elapsed in answers:
        assert_unavailable(status, headers, answer)
        assert elapsed < bound, elapsed


def liveness_after(server, delay):
    """A liveness probe sent ``delay`` seconds later: for ``in_parallel``."""
    return lambda: (time.sleep(delay), timed(server, "GET", "/api/health/live"))[1]


class HeldLock:
    """``LOCK TABLE ... IN ACCESS EXCLUSIVE MODE`` held by a session of the test's own."""

    def __init__(self, cluster, table="articles"):
        self.connection = psycopg.connect(cluster.url("reliability").replace("+psycopg", ""))
        self.connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    def release(self):
        self.connection.rollback()
        self.connection.close()


# --- the production server ------------------------------------------------------------


def test_every_core_serves_and_no_connection_is_shared_by_two_processes(server, private_cluster):
    # More at once than the slots (even were they all on one worker, no more than it
    # queues): admission makes them wait, refuses none.
    statuses = in_parallel(
        [lambda: timed(server, "GET", "/api/articles")[0]] * 40, MAX_BUSY + MAX_QUEUED)
    workers = worker_pids(server)
    holders = {int(name.rsplit(" ", 1)[1]) for name, _ in app_connections(private_cluster)}
    print(f"\nworkers {sorted(workers)} (pserve {server.process.pid}); "
          f"connections held by {sorted(holders)}; statuses {set(statuses)}")
    assert statuses == [200] * 40
    assert len(workers) == WORKERS
    assert server.process.pid not in holders, "the process that forked opened no connection"
    assert holders and holders <= workers, "each connection belongs to one live worker"
    status, headers, _ = server.request("GET", "/api/health/live")
    assert status == 200 and "Server" not in headers
    assert abs(email.utils.parsedate_to_datetime(headers["Date"]).timestamp() - time.time()) < 5


# --- a hung database ------------------------------------------------------------------------


def test_a_locked_table_answers_503_in_time_writes_nothing_and_recovers(
    server, private_cluster, writer
):
    before = app_connections(private_cluster)
    lock = HeldLock(private_cluster)
    try:
        read, write = in_parallel([
            lambda: timed(server, "GET", "/api/articles"),
            lambda: timed(server, "POST", "/api/articles", NEW_ARTICLE, writer),
        ])
    finally:
        lock.release()
    after_status, _, after, _ = timed(server, "GET", "/api/articles")
    after_connections = app_connections(private_cluster)
    print(f"\nlock budget {LOCK_BUDGET} s: GET {read[0]} in {read[3]:.2f} s, "
          f"POST {write[0]} in {write[3]:.2f} s; after release GET {after_status}; "
          f"connections before {len(before)}, after {len(after_connections)}: {after_connections}")
    assert_all_unavailable_within([read, write], 2 * LOCK_BUDGET + 1)
    assert after_status == 200 and after["articlesCount"] == 0, "the held write wrote nothing"
    assert all(state == "idle" for _, state in after_connections), "connections came back clean"


def test_a_saturated_server_answers_fast_and_liveness_within_a_second(
    server, private_cluster, writer
):
    count = 24
    before = app_connections(private_cluster)
    lock = HeldLock(private_cluster)
    try:
        slow = [lambda: timed(server, "GET", "/api/articles")] * count
        probes = [liveness_after(server, 0.5)] * 3
        results = in_parallel(slow + probes, workers=count + 3)
    finally:
        lock.release()
    answers, liveness = results[:count], results[count:]
    # Answered well before the lock budget: it waited for a slot (at most the queue
    # budget), not on the database.
    quick = [elapsed for _, _, _, elapsed in answers if elapsed < 0.75 * LOCK_BUDGET]
    busy = [a for a in answers if a[2] == {"errors": {"server": ["busy"]}}]
    print(f"\n{count} requests on a locked table, {WORKERS} workers x {MAX_BUSY} admitted: "
          f"{len(busy)} busy 503s, {len(quick)} answered under {0.75 * LOCK_BUDGET} s, slowest "
          f"{max(a[3] for a in answers):.2f} s; liveness {[round(p[3], 3) for p in liveness]} s; "
          f"connections before {len(before)}, after {len(app_connections(private_cluster))}")
    assert_all_unavailable_within(answers, 2 * LOCK_BUDGET + 1)
    assert len(quick) >= count - WORKERS * MAX_BUSY, "the excess was shed within its queue budget"
    for status, _, answer, elapsed in liveness:
        assert status == 200 and elapsed < LIVENESS_BOUND, (status, elapsed)


def test_a_frozen_database_answers_503_in_time_and_the_app_recovers(
    server, private_cluster, writer
):
    assert timed(server, "GET", "/api/articles")[0] == 200  # pooled connections exist
    before = app_connections(private_cluster)
    bound = 2 * (REQUEST_BUDGET + CONNECT_BUDGET)
    private_cluster.freeze()
    try:
        # No more at once than one worker admits, so each waits on the database
        # (test_a_saturated_server... covers refusals).
        calls = [lambda: timed(server, "GET", "/api/articles")] * (MAX_BUSY - 1)
        calls += [lambda: timed(server, "POST", "/api/articles", NEW_ARTICLE, writer)]
        calls += [liveness_after(server, 1)]
        *answers, live = in_parallel(calls)
        ready = timed(server, "GET", "/api/health/ready")
        metrics = server.request("GET", "/metrics")[2]
    finally:
        private_cluster.thaw()
    thawed = time.monotonic()
    while time.monotonic() - thawed < 20 and timed(server, "GET", "/api/articles")[0] != 200:
        time.sleep(0.1)
    recovery = time.monotonic() - thawed
    listed = timed(server, "GET", "/api/articles")
    # Readiness reports what the answering worker last saw of the database, and the
    # kernel picks the worker: a worker whose last request failed says "unavailable"
    # until its next request succeeds. Serve every worker again (reads in parallel),
    # then readiness must say "ok" within the same 20 s.
    while True:
        in_parallel([lambda: timed(server, "GET", "/api/articles")] * (2 * WORKERS * MAX_BUSY))
        ready_after = timed(server, "GET", "/api/health/ready")
        if ready_after[2].get("database") == "ok" or time.monotonic() - thawed > 20:
            break
        time.sleep(0.1)
    print(f"\nfrozen: {[(a[0], round(a[3], 2)) for a in answers]}; readiness {ready[0]} "
          f"{ready[2]} in {ready[3]:.2f} s; liveness {live[0]} in {live[3]:.3f} s; serving "
          f"again {recovery:.2f} s after thaw, then readiness {ready_after[2]}; "
          f"connections before {len(before)}, "
          f"after {len(app_connections(private_cluster))}")
    assert_all_unavailable_within(answers, bound)
    assert all(a[2] == {"errors": {"database": ["unavailable"]}} for a in answers)
    # This instance is fine: readiness keeps it in the load balancer, reporting the database.
    assert ready[0] == 200 and ready[2]["status"] == "ok", ready
    assert b"myapp_database_available 0.0" in metrics, "the metric reports the database down"
    assert ready[3] < LIVENESS_BOUND
    assert ready_after[2] == {"status": "ok", "database": "ok"}
    assert live[0] == 200 and live[3] < LIVENESS_BOUND
    assert recovery < 20
    assert listed[0] == 200 and listed[2]["articlesCount"] == 0, "no write got through"


# --- clients that send too much -------------------------------------------------------------


def raw_exchange(server, head, body_chunks=(), chunk_timeout=2):
    """Send ``head`` then ``body_chunks`` until the server stops reading; (answer, bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(chunk_timeout)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
                sent += len(chunk)
        except (socket.timeout, ConnectionError):
            pass  # the server stopped reading: it answered, or gave up on us
        sock.settimeout(10)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (socket.timeout, ConnectionError):
            pass
    return answer, sent


def test_an_oversize_upload_is_refused_without_being_read(server):
    declared = 128 * 1024 * 1024
    head = (f"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    started = time.monotonic()
    answer, sent = raw_exchange(server, head)
    declared_time = time.monotonic() - started

    chunk = b"x" * 65536
    chunks = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(1024))  # 64 MiB offered
    head = (b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    started = time.monotonic()
    chunked_answer, chunked_sent = raw_exchange(server, head, chunks)
    chunked_time = time.monotonic() - started
    print(f"\ndeclared {declared} B: answered {answer.split(b' ', 2)[1]} in {declared_time:.2f} s "
          f"having sent 0 B of body; chunked: answered {chunked_answer.split(b' ', 2)[1]} in "
          f"{chunked_time:.2f} s having sent {chunked_sent} of {64 * 1024 * 1024} B")
    for raw in (answer, chunked_answer):
        assert raw.startswith(b"HTTP/1.1 413 "), raw[:200]
        assert f'{{"errors":{{"body":["is too large (maximum is {MAX_BODY} bytes)"]}}}}'.encode() in raw
    assert chunked_sent < 64 * 1024 * 1024, "the server stopped reading the chunked body"


@pytest.mark.parametrize("head, status", [
    (b"GET /api/tags?" + b"a" * 300_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
])
def test_what_the_server_refuses_itself_is_json_too(server, head, status):
    answer, _ = raw_exchange(server, head)
    print(f"\n{len(head)} B of request head: {answer.splitlines()[0].decode()}")
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"Content-Type: application/json" in answer and b'{"errors":{"request":[' in answer
    assert b"Server:" not in answer


# --- development's waitress ---------------------------------------------------------------


def test_waitress_in_development_limits_bodies_and_does_not_flood_the_log(tmp_path):
    database = f"sqlite:///{tmp_path}/dev.sqlite"
    with AppServer("development.ini", config_vars={"database_url": database}) as dev:
        statuses = in_parallel([lambda: dev.request("GET", "/api/tags")[0]] * 40)
        status, headers, _ = dev.request("GET", "/api/health/live")
        head = (b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (128 * 1024 * 1024))
        answer, _ = raw_exchange(dev, head)
        output = dev.output()
    print(f"\n40 concurrent requests on 4 threads: {set(statuses)}; "
          f"'Task queue depth' lines: {output.count('Task queue depth')}; "
          f"oversize: {answer.splitlines()[0].decode() if answer else None}")
    assert statuses == [200] * 40
    assert "Task queue depth" not in output
    assert status == 200 and "Server" not in headers
    assert answer.startswith(b"HTTP/1.1 413 ")
