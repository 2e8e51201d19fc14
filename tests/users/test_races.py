"""Simultaneous requests against a real threaded server (waitress), on both databases.

Two registrations of the same username (or email) that arrive together both
pass the "is it taken?" check; the database's unique constraint stops the
second INSERT, the request is replayed, and the replay answers the same clean
409 a later request would get. Never a 500, never two users.
"""

import http.client
import json
import threading

import pytest
import sqlalchemy as sa
import waitress

from ..helpers import auth

THREADS = 4
ROUNDS = 4
TIMEOUT = 10  # seconds; every wait below is bounded by it


class Server:
    """The app served by waitress on 127.0.0.1, on a free port, in a background thread."""

    def __init__(self, app):
        self.server = waitress.create_server(
            app, host="127.0.0.1", port=0, threads=THREADS, asyncore_loop_timeout=1
        )
        self.port = self.server.effective_port
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.server.run()
        except (OSError, ValueError):  # sockets closed under the loop by stop()
            if not self.stopping:
                raise

    def stop(self):
        self.stopping = True
        self.server.task_dispatcher.shutdown(timeout=TIMEOUT)
        # Close every socket from the loop's own thread; an empty map ends the loop.
        self.server.trigger.pull_trigger(self._close_all)
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the server did not stop"

    def _close_all(self):
        for channel in list(self.server._map.values()):
            channel.close()

    def request(self, method, path, body=None, headers=None, connection=None):
        """(status, parsed JSON body) of one request on its own connection."""
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def simultaneously(self, requests):
        """Send ``requests`` ((method, path, body, headers) each) at the same moment.

        Each thread connects first, then all wait on a barrier and send at once.
        Returns the (status, body) answers in the order of ``requests``.
        """
        barrier = threading.Barrier(len(requests), timeout=TIMEOUT)
        answers = [None] * len(requests)

        def send(index, method, path, body, headers):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                connection.connect()
                barrier.wait()
                answers[index] = self.request(method, path, body, headers, connection)
            except Exception as exc:  # reported by the assertion below
                answers[index] = ("error", repr(exc))

        threads = [
            threading.Thread(target=send, args=(i, *request), daemon=True)
            for i, request in enumerate(requests)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert not any(thread.is_alive() for thread in threads), "a request did not finish"
        return answers


@pytest.fixture
def server(make_app):
    server = Server(make_app())
    yield server
    server.stop()


def count_users(db_engine, column, value):
    with db_engine.connect() as connection:
        return connection.scalar(
            sa.text(f"SELECT count(*) FROM users WHERE {column} = :value"), {"value": value}
        )


def registration(username, email):
    body = {"user": {"username": username, "email": email, "password": "password123"}}
    return ("POST", "/api/users", body, {})


def test_the_server_serves_the_api(server):
    status, body = server.request("GET", "/api/health")
    assert (status, body["status"]) == (200, "ok")


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_simultaneous_registrations_of_one_username_end_as_one_201_and_409s(
    server, db_engine, round_
):
    username = f"racer{round_}"
    requests = [registration(username, f"{username}.{i}@example.com") for i in range(THREADS)]

    answers = server.simultaneously(requests)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (THREADS - 1), answers
    losers = [body for status, body in answers if status == 409]
    assert losers == [{"errors": {"username": ["has already been taken"]}}] * (THREADS - 1)
    assert count_users(db_engine, "username", username) == 1
    # The stored user is the winner, and the winner's token works.
    (winner,) = [body["user"] for status, body in answers if status == 201]
    with db_engine.connect() as connection:
        stored_email = connection.scalar(
            sa.text("SELECT email FROM users WHERE username = :u"), {"u": username}
        )
    assert stored_email == winner["email"]
    status, me = server.request("GET", "/api/user", headers=auth(winner["token"]))
    assert (status, me["user"]["username"]) == (200, username)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_simultaneous_registrations_of_one_email_end_as_one_201_and_409s(
    server, db_engine, round_
):
    email = f"racer{round_}@example.com"
    requests = [registration(f"racer{round_}_{i}", email) for i in range(THREADS)]

    answers = server.simultaneously(requests)

    assert sorted(status for status, _ in answers) == [201] + [409] * (THREADS - 1), answers
    losers = [body for status, body in answers if status == 409]
    assert losers == [{"errors": {"email": ["has already been taken"]}}] * (THREADS - 1)
    assert count_users(db_engine, "email", email) == 1


def test_simultaneous_follows_of_one_profile_all_succeed_and_follow_once(server, db_engine):
    status, fan = server.request("POST", *registration("fan", "fan@example.com")[1:3])
    assert status == 201
    for round_ in range(ROUNDS):
        celeb = f"celeb{round_}"
        status, _ = server.request("POST", *registration(celeb, f"{celeb}@example.com")[1:3])
        assert status == 201
        follow = ("POST", f"/api/profiles/{celeb}/follow", None, auth(fan["user"]["token"]))

        answers = server.simultaneously([follow] * THREADS)

        profile = {"username": celeb, "bio": None, "image": None, "following": True}
        assert answers == [(200, {"profile": profile})] * THREADS
    with db_engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM follows")) == ROUNDS
