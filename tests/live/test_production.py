"""Production as one host runs it: ``make production`` (nginx in front of gunicorn).

On a private PostgreSQL cluster, with production.ini's defaults (2 gunicorn
workers) unless a test says otherwise. Every bound is generous (a noisy,
shared machine); each test prints its figures. Loopback only: a second and a
third client are 127.0.0.2 and 127.0.0.3 (all of 127/8 is this host).
"""

import concurrent.futures
import os
import re
import signal
import socket
import statistics
import threading
import time

import psycopg
import pytest

from .cluster import require
from .server import AppServer, ProductionServer, production_environ

NGINX = "/usr/sbin/nginx"
WORKERS = 2
CLIENT_TIMEOUT = 5  # nginx's client_header/body_timeout for the slow-client test (10 in production)
PER_ADDRESS = 3  # failed logins per address before 429, shortened


@pytest.fixture(scope="module", autouse=True)
def nginx_installed():
    require(os.path.exists(NGINX), f"nginx is not installed ({NGINX}): bash scripts/install-nginx.sh")


@pytest.fixture(scope="module")
def production(private_cluster):
    database = private_cluster.create_database("production")
    environ = production_environ(database, WEB_CONCURRENCY=str(WORKERS))
    with ProductionServer(
        config_vars={"login_failures_per_address": PER_ADDRESS},
        environ=environ, options=["--client-timeout", str(CLIENT_TIMEOUT)],
    ) as server:
        yield server


@pytest.fixture(scope="module")
def writer(production):
    return register(production, "writer")


def register(server, name):
    body = {"user": {"username": name, "email": f"{name}@example.com",
                     "password": "writer-password"}}
    status, _, answer = server.request("POST", "/api/users", body)
    assert status == 201, answer
    return {"Authorization": f"Token {answer['user']['token']}"}


def timed(server, method, path, body=None, headers=None, **kwargs):
    started = time.monotonic()
    status, _, answer = server.request(method, path, body, headers, timeout=30, **kwargs)
    return status, answer, time.monotonic() - started


def in_parallel(calls, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return [future.result(timeout=300) for future in [pool.submit(call) for call in calls]]


def quantiles(seconds):
    cuts = statistics.quantiles(seconds, n=100)
    return f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms"


# --- bursts on a healthy database -----------------------------------------------------------


def test_a_burst_of_200_clients_is_served_in_full(production, writer):
    status, article, _ = timed(production, "POST", "/api/articles",
                               {"article": {"title": "Burst", "description": "d", "body": "b"}},
                               writer)
    assert status == 201, article
    slug = article["article"]["slug"]
    paths = ["/api/articles", "/api/tags", f"/api/articles/{slug}"]
    clients = 200
    start = threading.Barrier(clients)

    def client(number):
        start.wait()  # all 200 at once
        return [timed(production, "GET", paths[(number + i) % 3]) for i in range(5)]

    answers = [a for batch in in_parallel([lambda n=n: client(n) for n in range(clients)],
                                          clients) for a in batch]
    statuses = [status for status, _, _ in answers]
    others = sorted({(status, str(answer)) for status, answer, _ in answers if status != 200})
    print(f"\n{clients} clients x 5 (list, tags, one article) at once: "
          f"{statuses.count(200)} x 200, {len(statuses) - statuses.count(200)} others {others}; "
          f"{quantiles([elapsed for _, _, elapsed in answers])}")
    assert statuses == [200] * (clients * 5)


def test_forty_users_toggling_favorites_at_once_are_all_served(production, writer):
    status, article, _ = timed(production, "POST", "/api/articles",
                               {"article": {"title": "Liked", "description": "d", "body": "b"}},
                               writer)
    slug = article["article"]["slug"]
    users = in_parallel([lambda n=n: register(production, f"fan{n}") for n in range(40)], 8)
    start = threading.Barrier(len(users))

    def toggle(headers):
        start.wait()
        return [timed(production, method, f"/api/articles/{slug}/favorite", None, headers)
                for method in ("POST", "DELETE") * 5]

    answers = [a for batch in in_parallel([lambda h=h: toggle(h) for h in users], len(users))
               for a in batch]
    statuses = [status for status, _, _ in answers]
    others = sorted({(status, str(answer)) for status, answer, _ in answers if status != 200})
    print(f"\n40 users x 10 favorite toggles at once: {statuses.count(200)} x 200, "
          f"others {others}; "
          f"{quantiles([elapsed for _, _, elapsed in answers])}")
    assert statuses == [200] * 400
    assert production.request("GET", f"/api/articles/{slug}")[2]["article"][
        "favoritesCount"] == 0


# --- a locked database, through nginx ------------------------------------------------------


def test_a_locked_table_answers_json_503_in_time_and_liveness_within_a_second(
    production, private_cluster, writer
):
    budget = 2 + 2  # production.ini: queue_timeout, then db_lock_timeout
    before = production.request("GET", "/api/articles")[2]["articlesCount"]
    lock = psycopg.connect(private_cluster.url("production").replace("+psycopg", ""))
    try:
        lock.execute("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
        article = {"article": {"title": "Held", "description": "d", "body": "b"}}
        calls = [lambda: timed(production, "GET", "/api/articles")] * 40
        calls += [lambda: timed(production, "POST", "/api/articles", article, writer)] * 4
        calls += [lambda: (time.sleep(0.5), timed(production, "GET", "/api/health/live"))[1]] * 3
        answers = in_parallel(calls, len(calls))
    finally:
        lock.rollback()
        lock.close()
    answers, liveness = answers[:-3], answers[-3:]
    after = production.request("GET", "/api/articles")[2]["articlesCount"]
    slowest = max(elapsed for _, _, elapsed in answers)
    print(f"\n44 requests on a locked table through nginx: "
          f"{sorted({(status, str(answer)) for status, answer, _ in answers})}; slowest "
          f"{slowest:.2f} s (budget {budget} s); liveness {[round(l[2], 3) for l in liveness]} s; "
          f"articles before {before}, after {after}")
    for status, answer, elapsed in answers:
        assert status == 503, answer
        assert answer in ({"errors": {"database": ["unavailable"]}},
                          {"errors": {"server": ["busy"]}})
    assert slowest < 2 * budget + 1, "no request hangs"
    assert all(status == 200 and elapsed < 1 for status, _, elapsed in liveness)
    assert after == before, "nothing written"


# --- slow clients -----------------------------------------------------------------------------


def hold(port, head):
    """A connection that sends ``head`` and then nothing more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head)
    return sock


def cut_after(sock, started):
    """Seconds until the server closed ``sock`` (having answered or not), or None."""
    try:
        while sock.recv(65536):
            pass
        return time.monotonic() - started
    except OSError:
        return None
    finally:
        sock.close()


def test_slow_headers_and_bodies_do_not_starve_other_clients_and_are_cut(production):
    half_header = b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Slow: "
    half_body = (b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n" + b"{" * 500)
    started = time.monotonic()
    slow = [hold(production.port, half_header) for _ in range(100)]
    slow += [hold(production.port, half_body) for _ in range(100)]
    held = time.monotonic() - started
    # Ordinary clients meanwhile, for as long as the slow ones are held.
    answers = []
    while time.monotonic() - started < CLIENT_TIMEOUT - 0.5:
        answers += in_parallel([lambda: timed(production, "GET", "/api/tags")] * 10, 10)
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        cuts = list(pool.map(lambda sock: cut_after(sock, started), slow))
    statuses = [status for status, _, _ in answers]
    latencies = [elapsed for _, _, elapsed in answers]
    closed = [cut for cut in cuts if cut is not None]
    print(f"\n200 slow connections opened in {held:.2f} s; {len(answers)} other requests: "
          f"{statuses.count(200)} x 200, {quantiles(latencies)}, slowest {max(latencies):.2f} s; "
          f"slow ones cut after {min(closed):.1f}-{max(closed):.1f} s "
          f"(bound {CLIENT_TIMEOUT} s), {len(cuts) - len(closed)} reset")
    assert statuses == [200] * len(answers) and len(answers) >= 40
    assert statistics.quantiles(latencies, n=100)[98] < 1.0
    assert len(closed) == len(cuts), "every slow connection was closed by the server"
    assert max(closed) < CLIENT_TIMEOUT + 5


def test_nginx_refusals_answer_json(production):
    head = (b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (128 * 1024 * 1024))
    for request, status in [
        (head, 413),
        (b"GET /api/tags?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"NOT HTTP\r\n\r\n", 400),
    ]:
        with socket.create_connection(("127.0.0.1", production.port), timeout=10) as sock:
            sock.sendall(request)
            answer = b""
            while data := sock.recv(65536):
                answer += data
        print(f"\n{request[:30]!r}...: {answer.splitlines()[0].decode()}")
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
        assert b"Content-Type: application/json" in answer
        assert re.search(rb'\r\n\r\n\{"errors":\{"(request|body)":\["[^"]+"\]\}\}$', answer)


# --- the client's address behind nginx ------------------------------------------------------


def failed_login(server, source, forged=None, email="nobody@example.com"):
    headers = {"X-Forwarded-For": forged} if forged else {}
    body = {"user": {"email": email, "password": "wrong-password"}}
    return server.request("POST", "/api/users/login", body, headers, source=source)[0]


def test_two_clients_behind_nginx_are_throttled_apart_and_forgeries_change_nothing(production):
    first = [failed_login(production, "127.0.0.2", email=f"a{n}@example.com")
             for n in range(PER_ADDRESS + 1)]
    # The second client writes the first one's address: nginx appends its real one.
    second = [failed_login(production, "127.0.0.3", forged="127.0.0.2", email=f"b{n}@example.com")
              for n in range(PER_ADDRESS)]
    # The first one pretends to be someone else: still itself.
    first_again = failed_login(production, "127.0.0.2", forged="198.51.100.7")
    metrics_from_first = production.request("GET", "/metrics", source="127.0.0.2")[0]
    metrics_from_loopback = production.request("GET", "/metrics", source="127.0.0.1")[0]
    logged = re.findall(r'"client":"([^"]+)"', production.output())
    print(f"\nfirst client {first} then forged {first_again}; second {second}; /metrics from "
          f"127.0.0.2 {metrics_from_first}, from 127.0.0.1 {metrics_from_loopback}; "
          f"access log clients {sorted(set(logged))}")
    assert first == [401] * PER_ADDRESS + [429]
    assert second == [401] * PER_ADDRESS, "another client behind the same proxy"
    assert first_again == 429
    assert metrics_from_first == 404 and metrics_from_loopback == 200
    assert {"127.0.0.2", "127.0.0.3"} <= set(logged)
    assert "198.51.100.7" not in logged


def test_an_untrusted_peer_cannot_choose_its_address(private_cluster):
    database = private_cluster.create_database("untrusted")
    # pserve alone, facing clients: no proxy is trusted (production.ini's default).
    with AppServer("production.ini", config_vars={"login_failures_per_address": PER_ADDRESS},
                   environ=production_environ(database, WEB_CONCURRENCY="1")) as server:
        statuses = [failed_login(server, "127.0.0.2", forged=f"198.51.100.{n}",
                                 email=f"c{n}@example.com") for n in range(PER_ADDRESS + 1)]
        other = failed_login(server, "127.0.0.3", email="d@example.com")
    print(f"\nforged X-Forwarded-For from an untrusted peer: {statuses}; another peer {other}")
    assert statuses == [401] * PER_ADDRESS + [429]
    assert other == 401


# --- deploys -----------------------------------------------------------------------------------


def test_reload_and_upgrade_under_steady_load_lose_no_request(production, writer):
    results, stop = [], threading.Event()
    article = {"article": {"title": "Steady", "description": "d", "body": "b"}}

    def load(number):
        while not stop.is_set():
            if number % 4 == 0:
                results.append(timed(production, "POST", "/api/articles", article, writer)[0])
            else:
                results.append(timed(production, "GET", "/api/articles?limit=5")[0])

    threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        production.signal_production(signal.SIGHUP)
        time.sleep(4)
        before_upgrade = len(results)
        production.signal_production(signal.SIGUSR2)
        deadline = time.monotonic() + 90
        while "upgraded:" not in production.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    output = production.output()
    masters = re.findall(r"Listening at: unix:\S+ \((\d+)\)", output)
    print(f"\n{len(results)} requests under HUP then USR2 ({before_upgrade} before the upgrade): "
          f"{sorted((s, results.count(s)) for s in set(results))}; gunicorn masters {masters}")
    assert "upgraded:" in output
    assert len(masters) == 2 and masters[0] != masters[1], "new code runs in a new gunicorn"
    assert set(results) <= {200, 201}, "no request lost or refused"
    assert len(results) > before_upgrade > 20


def test_a_draining_instance_fails_readiness_and_still_serves_then_stops(private_cluster):
    database = private_cluster.create_database("draining")
    with ProductionServer(environ=production_environ(database, WEB_CONCURRENCY="1"),
                          options=["--drain-seconds", "4"]) as server:
        before = server.request("GET", "/api/health/ready")[0]
        told = time.monotonic()
        server.signal_production(signal.SIGTERM)
        time.sleep(1)
        ready = server.request("GET", "/api/health/ready")
        live = server.request("GET", "/api/health/live")[0]
        tags = server.request("GET", "/api/tags")[0]
        server.process.wait(timeout=60)
        stopped = time.monotonic() - told
    print(f"\nreadiness {before} before TERM, {ready[0]} {ready[2]} while draining; liveness "
          f"{live}, GET /api/tags {tags}; stopped {stopped:.1f} s after TERM (drain 4 s)")
    assert before == 200
    assert ready[0] == 503 and ready[2] == {"errors": {"server": ["draining"]}}
    assert ready[1]["Retry-After"] == "1"
    assert live == 200 and tags == 200, "everything else is still served while draining"
    assert 4 <= stopped < 40 and server.process.returncode == 0
