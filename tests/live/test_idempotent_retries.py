"""Idempotent retries against ``pserve production.ini`` on a private PostgreSQL cluster.

A client whose connection is cut before it reads the answer retries with the
same Idempotency-Key: the write happened once, and the answer it gets is the
one the first request produced (stored in the transaction of its effect).
Concurrent duplicates: exactly one writes, the others wait and replay it.
"""

import concurrent.futures
import http.client
import json
import socket
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from .cluster import require, server_bindir
from .server import AppServer, production_environ

TIMEOUT = 20  # seconds: every request and every wait below is bounded by it
DUPLICATES = 6
ROOM = {"threads": 10, "max_busy_requests": 8}  # every duplicate at once in one worker


@pytest.fixture(scope="module")
def live(private_cluster):
    """(server, engine): pserve production.ini, and an engine to look at its database."""
    require(server_bindir() is not None, "PostgreSQL server binaries are not installed")
    database = private_cluster.create_database("idempotent_retries")
    engine = sa.create_engine(database)
    try:
        with AppServer("production.ini", config_vars=ROOM,
                       environ=production_environ(database)) as server:
            yield server, engine
    finally:
        engine.dispose()


def _request_bytes(server, path, body, headers):
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
             "Content-Type: application/json", f"Content-Length: {len(payload)}",
             "Connection: close", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def _post(server, path, body, headers):
    """(status, raw body bytes) of one POST on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request("POST", path, json.dumps(body).encode(),
                           {"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _token(server, username):
    status, body = _post(server, "/api/users", {"user": {
        "username": username, "email": f"{username}@example.com", "password": "password123",
    }}, {})
    assert status == 201, body
    return json.loads(body)["user"]["token"]


def _stored(engine, key):
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT status, body FROM idempotency_keys WHERE key = :key"), {"key": key}
        ).all()


def _articles(engine, title):
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT slug FROM articles WHERE title = :title"), {"title": title}
        ).scalars().all()


def test_a_cut_connection_then_a_retry_writes_once_and_answers_the_same(live):
    server, engine = live
    token = _token(server, f"cut{uuid.uuid4().hex[:8]}")
    key = uuid.uuid4().hex
    title = f"Cut {key}"
    body = {"article": {"title": title, "description": "d", "body": "b", "tagList": ["cut"]}}
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": f'"{key}"'}

    # The whole request is sent, then the client goes away without reading a byte.
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as client:
        client.sendall(_request_bytes(server, "/api/articles", body, headers))

    # The server still finishes the request and commits its effect with its answer.
    deadline = time.monotonic() + TIMEOUT
    while not _stored(engine, key) and time.monotonic() < deadline:
        time.sleep(0.05)
    [(status, first_answer)] = _stored(engine, key)
    assert status == 201
    slug = json.loads(first_answer)["article"]["slug"]
    assert _articles(engine, title) == [slug]

    # The retries (the key's row existed before they were sent) get that very answer.
    retry = _post(server, "/api/articles", body, headers)
    again = _post(server, "/api/articles", body, headers)
    assert retry == again == (201, bytes(first_answer))
    assert _articles(engine, title) == [slug]


def test_concurrent_duplicates_write_once_and_all_get_the_same_answer(live):
    server, engine = live
    username = f"dup{uuid.uuid4().hex[:8]}"
    body = {"user": {"username": username, "email": f"{username}@example.com",
                     "password": "password123"}}
    headers = {"Idempotency-Key": f'"{uuid.uuid4().hex}"'}
    start = threading.Barrier(DUPLICATES, timeout=TIMEOUT)

    def duplicate(_):
        start.wait()
        return _post(server, "/api/users", body, headers)

    with concurrent.futures.ThreadPoolExecutor(DUPLICATES) as pool:
        answers = list(pool.map(duplicate, range(DUPLICATES), timeout=TIMEOUT * 2))
    statuses = [status for status, _ in answers]
    replays = [line for line in server.output().splitlines() if "IntegrityError" in line]
    print(f"{DUPLICATES} concurrent duplicates answered {statuses}; "
          f"{len(replays)} attempts replayed after waiting for the first: {replays[:1]}")
    assert statuses == [201] * DUPLICATES
    # One answer; its token issued anew for each repeat (no live token is stored).
    users = [json.loads(answer)["user"] for _, answer in answers]
    assert len({user.pop("token") for user in users}) == DUPLICATES
    assert all(user == users[0] for user in users)
    with engine.connect() as connection:
        count = connection.scalar(
            sa.text("SELECT count(*) FROM users WHERE username = :name"), {"name": username}
        )
    assert count == 1
