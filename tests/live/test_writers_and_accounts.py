"""Concurrent writers and account security against ``pserve production.ini``
on a private PostgreSQL cluster (one cluster and one server for the module).

Each test prints its figures. Every test also checks the server's log: the
number of ERROR lines equals the number of 5xx answers the clients saw.
"""

import concurrent.futures
import threading
import time

import pytest
import sqlalchemy as sa

from .cluster import require, server_bindir
from .server import AppServer, production_environ

TIMEOUT = 20  # seconds: every request and every wait below is bounded by it
LOCK_HOLD = 1.0  # seconds; below the 2 s lock budget production may set
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def database(private_cluster):
    return private_cluster.create_database("writers_and_accounts")


@pytest.fixture(scope="module")
def environ(database):
    return production_environ(database)


@pytest.fixture(scope="module")
def server(environ):
    require(server_bindir() is not None, "PostgreSQL server binaries are not installed")
    # Room for this module's largest burst (24 requests at once) in any one worker:
    # the throttle and lock behaviour under test, not admission control's quick 503s
    # (tests/live/test_reliability.py covers those).
    with AppServer("production.ini", environ=environ) as server:
        yield server


@pytest.fixture(scope="module")
def engine(database):
    engine = sa.create_engine(database)
    yield engine
    engine.dispose()


@pytest.fixture
def log_check(server):
    """Fail the test when the server logged an ERROR for anything but a 5xx answer."""
    seen = {"5xx": 0}
    start = len(server.output())
    yield seen
    output = server.output()[start:]
    errors = [line for line in output.splitlines() if " ERROR " in line]
    replays = [line for line in output.splitlines() if "replaying" in line]
    print(f"server log: {len(errors)} ERROR lines, {len(replays)} replay lines, "
          f"{seen['5xx']} 5xx answers")
    assert len(errors) == seen["5xx"], "\n".join(errors)
    assert "Traceback" not in output or seen["5xx"], output[-3000:]
    assert "SAWarning" not in output, output[-3000:]


def call(server, seen, method, path, body=None, token=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    status, _, answer = server.request(method, path, body, headers, timeout=TIMEOUT)
    if status >= 500:
        seen["5xx"] += 1
    return status, answer


def at_once(server, seen, requests):
    """Send ``requests`` ((method, path, body, token) each) together; their (status, answer)."""
    barrier = threading.Barrier(len(requests), timeout=TIMEOUT)

    def send(request):
        barrier.wait()
        return call(server, seen, *request)

    with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
        futures = [pool.submit(send, request) for request in requests]
        return [future.result(timeout=2 * TIMEOUT) for future in futures]


def register(server, seen, username, email=None):
    body = {"user": {"username": username, "email": email or f"{username}@example.com",
                     "password": PASSWORD}}
    status, answer = call(server, seen, "POST", "/api/users", body)
    assert status == 201, answer
    return answer["user"]["token"]


def new_article(server, seen, token, title, tags=("start",)):
    body = {"article": {"title": title, "description": "d", "body": "b", "tagList": list(tags)}}
    status, answer = call(server, seen, "POST", "/api/articles", body, token)
    assert status == 201, answer
    return answer["article"]["slug"]


def article_state(server, seen, slug):
    status, answer = call(server, seen, "GET", f"/api/articles/{slug}")
    assert status == 200, answer
    return answer["article"]["description"], answer["article"]["tagList"]


# --- lost updates ---------------------------------------------------------------------


def test_two_puts_queued_behind_a_row_lock_end_as_exactly_one_of_them(server, engine, log_check):
    token = register(server, log_check, "locked_author")
    slug = new_article(server, log_check, token, "Locked article")
    puts = [("PUT", f"/api/articles/{slug}", {"article": {"tagList": tags}}, token)
            for tags in (["alpha"], ["beta"])]

    with engine.connect() as locker, concurrent.futures.ThreadPoolExecutor(2) as pool:
        locker.execute(sa.text("SELECT id FROM articles WHERE slug = :s FOR UPDATE"), {"s": slug})
        started = time.monotonic()
        futures = [pool.submit(call, server, log_check, *put) for put in puts]
        time.sleep(LOCK_HOLD)
        waiting = sum(not future.done() for future in futures)
        locker.rollback()  # release the lock
        answers = [future.result(timeout=TIMEOUT) for future in futures]
    elapsed = time.monotonic() - started

    final = article_state(server, log_check, slug)[1]
    print(f"{waiting} PUTs waited on the lock held {LOCK_HOLD} s; answers "
          f"{[(s, a['article']['tagList']) for s, a in answers]} after {elapsed:.2f} s; final {final}")
    assert waiting == 2
    assert [status for status, _ in answers] == [200, 200]
    assert final in (["alpha"], ["beta"])


def test_rounds_of_concurrent_puts_end_as_one_request_each(server, log_check):
    token = register(server, log_check, "busy_author")
    slug = new_article(server, log_check, token, "Busy article")
    rounds, writers, mixed = 4, 8, 0
    for round_ in range(rounds):
        sent = {f"r{round_}w{i}": [f"r{round_}w{i}-a", f"r{round_}w{i}-b"] for i in range(writers)}
        answers = at_once(server, log_check, [
            ("PUT", f"/api/articles/{slug}", {"article": {"description": d, "tagList": tags}}, token)
            for d, tags in sent.items()
        ])
        description, tags = article_state(server, log_check, slug)
        mixed += sent.get(description) != tags
        assert [status for status, _ in answers] == [200] * writers, answers
        assert sent[description] == tags, (description, tags)
    print(f"{rounds} rounds x {writers} concurrent PUTs: {mixed} final states no client sent")


def test_puts_racing_a_delete_answer_200_or_404_and_the_article_is_gone(server, engine, log_check):
    token = register(server, log_check, "deleting_author")
    tally = {}
    for round_ in range(4):
        slug = new_article(server, log_check, token, f"Doomed {round_}", tags=["x", "y"])
        requests = [("PUT", f"/api/articles/{slug}", {"article": {"tagList": [f"t{i}"]}}, token)
                    for i in range(6)]
        requests.insert(3, ("DELETE", f"/api/articles/{slug}", None, token))
        for status, _ in at_once(server, log_check, requests):
            tally[status] = tally.get(status, 0) + 1
        assert call(server, log_check, "GET", f"/api/articles/{slug}")[0] == 404
    with engine.connect() as connection:
        orphans = connection.scalar(sa.text(
            "SELECT count(*) FROM article_tags WHERE article_id NOT IN (SELECT id FROM articles)"))
    print(f"4 rounds of 6 PUTs + 1 DELETE: statuses {dict(sorted(tally.items()))}, {orphans} orphan tags")
    assert set(tally) <= {200, 204, 404} and tally[204] == 4
    assert orphans == 0


def test_concurrent_password_changes_from_several_devices_leave_one_winner(server, log_check):
    register(server, log_check, "many_devices")
    login = {"user": {"email": "many_devices@example.com", "password": PASSWORD}}
    tokens = [call(server, log_check, "POST", "/api/users/login", login)[1]["user"]["token"]
              for _ in range(6)]
    passwords = [f"new-password-{i}" for i in range(len(tokens))]
    answers = at_once(server, log_check, [
        ("PUT", "/api/user", {"user": {"password": p}}, token) for p, token in zip(passwords, tokens)])
    statuses = [status for status, _ in answers]

    working_tokens = [call(server, log_check, "GET", "/api/user", token=t)[0] == 200 for t in tokens]
    working_passwords = [
        call(server, log_check, "POST", "/api/users/login",
             {"user": {"email": "many_devices@example.com", "password": p}})[0] == 200
        for p in passwords]
    print(f"{len(tokens)} devices change the password at once: statuses {statuses}; "
          f"{sum(working_tokens)} token and {sum(working_passwords)} password work afterwards")
    # Serialized: the first change revoked the other devices' tokens, also of
    # the requests waiting for the lock.
    assert sorted(statuses) == [200] + [401] * (len(tokens) - 1), answers
    winner = statuses.index(200)
    assert working_tokens == working_passwords == [i == winner for i in range(len(tokens))]


# --- account security -----------------------------------------------------------------


def test_a_password_change_revokes_the_other_devices_tokens(server, log_check):
    phone = register(server, log_check, "revoker")
    laptop = call(server, log_check, "POST", "/api/users/login",
                  {"user": {"email": "revoker@example.com", "password": PASSWORD}})[1]["user"]["token"]
    status, answer = call(server, log_check, "PUT", "/api/user",
                          {"user": {"password": "brand-new-password"}}, phone)
    assert status == 200 and answer["user"]["token"] == phone
    fresh = call(server, log_check, "POST", "/api/users/login",
                 {"user": {"email": "revoker@example.com",
                           "password": "brand-new-password"}})[1]["user"]["token"]
    statuses = {name: call(server, log_check, "GET", "/api/user", token=token)[0]
                for name, token in (("phone", phone), ("laptop", laptop), ("fresh", fresh))}
    print(f"after the password change from the phone: {statuses}")
    assert statuses == {"phone": 200, "laptop": 401, "fresh": 200}


def test_simultaneous_registrations_of_case_variants_end_as_one_account(server, engine, log_check):
    variants = ["Alice", "alice", "ALICE", "aLiCe", "AlIcE", "alicE"]
    for round_ in range(3):
        answers = at_once(server, log_check, [
            ("POST", "/api/users", {"user": {"username": f"{name}{round_}",
                                             "email": f"{i}.{round_}@example.com",
                                             "password": PASSWORD}}, None)
            for i, name in enumerate(variants)])
        statuses = sorted(status for status, _ in answers)
        print(f"round {round_}: {len(variants)} case variants of one username: {statuses}")
        assert statuses == [201] + [409] * (len(variants) - 1), answers
    emails = ["Bob@Example.com", "bob@example.com", "BOB@EXAMPLE.COM", "bOb@example.COM"]
    answers = at_once(server, log_check, [
        ("POST", "/api/users", {"user": {"username": f"bob{i}", "email": email,
                                         "password": PASSWORD}}, None)
        for i, email in enumerate(emails)])
    assert sorted(status for status, _ in answers) == [201] + [409] * (len(emails) - 1), answers
    with engine.connect() as connection:
        count = connection.scalar(sa.text(
            "SELECT count(*) FROM users WHERE lower(username) LIKE 'alice%' OR lower(email) = 'bob@example.com'"))
    assert count == 4


def test_login_throttling_is_shared_by_every_process(server, environ, log_check):
    register(server, log_check, "guarded")
    with AppServer("production.ini", environ=environ, migrate=False) as second:
        servers = [server, second]
        wrong = {"user": {"email": "guarded@example.com", "password": "not-the-password"}}
        statuses = [call(servers[i % 2], log_check, "POST", "/api/users/login", wrong)[0]
                    for i in range(10)]
        status, headers, answer = second.request(
            "POST", "/api/users/login",
            {"user": {"email": "GUARDED@example.com", "password": PASSWORD}}, timeout=TIMEOUT)
        # A burst of guesses at another account: at most the limit is ever checked.
        burst = at_once(server, log_check, [
            ("POST", "/api/users/login", {"user": {"email": "burst@example.com",
                                                   "password": f"guess-{i}"}}, None)
            for i in range(24)])
        # Successes and failures for one account at once: every answer is a
        # login's answer (forgiving and counting lock the same rows, in one order).
        register(server, log_check, "mixed")
        mixed = at_once(server, log_check, [
            ("POST", "/api/users/login", {"user": {"email": "mixed@example.com",
                                                   "password": PASSWORD if i % 2 else "nope-nope"}},
             None)
            for i in range(12)])
    burst_statuses = sorted(s for s, _ in burst)
    mixed_statuses = sorted(s for s, _ in mixed)
    print(f"12 simultaneous logins of one account, half right: {mixed_statuses}")
    assert set(mixed_statuses) <= {200, 401, 429} and 200 in mixed_statuses
    print(f"10 failures alternating over 2 processes: {statuses}; then {status} "
          f"Retry-After {headers.get('Retry-After')}; a burst of 24: "
          f"{burst_statuses.count(401)} x 401, {burst_statuses.count(429)} x 429")
    assert statuses == [401] * 10
    assert status == 429 and answer == {"errors": {"login": ["too many attempts; try again later"]}}
    assert 0 < int(headers["Retry-After"]) <= 900
    assert burst_statuses == [401] * 10 + [429] * 14
