"""Login throttling (myapp.auth.throttle): too many attempts for one account
or from one address in a window answer 429 with Retry-After; the counts live
in the database and survive the 401 answers' aborted transactions."""

import pytest
import sqlalchemy as sa

from myapp.auth import get_auth

from ..contract import ContractTestApp
from ..helpers import register

PER_ACCOUNT, PER_ADDRESS, WINDOW = 3, 6, 600
THROTTLED = {"errors": {"login": ["too many attempts; try again later"]}}


class Clock:
    def __init__(self):
        self.now = 1_900_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def testapp(make_app, clock):
    app = make_app(**{
        "myapp.login_failures_per_account": str(PER_ACCOUNT),
        "myapp.login_failures_per_address": str(PER_ADDRESS),
        "myapp.login_throttle_window_seconds": str(WINDOW),
    })
    get_auth(app.registry).login_throttle.clock = clock
    return ContractTestApp(app)


def attempt(testapp, email, password="wrong-password", address="203.0.113.1", status="*"):
    return testapp.post_json(
        "/api/users/login", {"user": {"email": email, "password": password}},
        extra_environ={"REMOTE_ADDR": address}, status=status,
    )


def counts(db_engine):
    with db_engine.connect() as connection:
        return dict(connection.execute(sa.text("SELECT key, attempts FROM login_attempts")).all())


def test_failures_for_one_account_end_in_429_with_retry_after(testapp, db_engine, clock):
    register(testapp, "jake")
    statuses = [attempt(testapp, "jake@example.com").status_int for _ in range(PER_ACCOUNT)]
    # Each 401 aborted its own transaction, yet every failure was counted.
    assert counts(db_engine)["account:jake@example.com"] == PER_ACCOUNT

    clock.now += 10
    throttled = attempt(testapp, "JAKE@example.com", password="password123", address="198.51.100.9")

    print(f"statuses {statuses}, then {throttled.status_int} Retry-After {throttled.headers['Retry-After']}")
    assert statuses == [401] * PER_ACCOUNT
    assert throttled.status_int == 429 and throttled.json == THROTTLED
    assert throttled.headers["Retry-After"] == str(WINDOW - 10)
    # The window over, the right password works again.
    clock.now += WINDOW
    assert attempt(testapp, "jake@example.com", password="password123").status_int == 200


def test_an_unknown_account_is_throttled_exactly_like_a_known_one(testapp, db_engine):
    register(testapp, "jake")
    answers = {}
    for email in ("jake@example.com", "nobody@example.com"):
        for _ in range(PER_ACCOUNT):
            attempt(testapp, email, address=f"192.0.2.{len(answers)}", status=401)
        answer = attempt(testapp, email, address="192.0.2.99", status=429)
        answers[email] = (answer.json, answer.headers["Retry-After"])
    assert answers["jake@example.com"] == answers["nobody@example.com"]


def test_a_successful_login_resets_the_accounts_count(testapp, db_engine):
    register(testapp, "jake")
    for _ in range(2):  # 2 * PER_ACCOUNT failures would be throttled without the resets
        for _ in range(PER_ACCOUNT - 1):
            attempt(testapp, "jake@example.com", status=401)
        attempt(testapp, "jake@example.com", password="password123", status=200)
    assert "account:jake@example.com" not in counts(db_engine)
    # The address counts the failures only, not the successes.
    assert counts(db_engine)["address:203.0.113.1"] == 2 * (PER_ACCOUNT - 1)


def test_one_address_is_throttled_across_accounts_and_others_are_not(testapp, db_engine):
    register(testapp, "jake")
    for i in range(PER_ADDRESS):
        attempt(testapp, f"guess{i}@example.com", status=401)
    for i in range(20):  # a blocked address counts no more accounts: rows stay bounded
        attempt(testapp, f"more{i}@example.com", status=429)
    attempt(testapp, "jake@example.com", password="password123", status=429)

    attempt(testapp, "jake@example.com", password="password123", address="203.0.113.2", status=200)
    rows = counts(db_engine)
    print(f"{len(rows)} rows after {PER_ADDRESS + 21} attempts from one address")
    assert len(rows) == 1 + PER_ADDRESS + 1  # its address, its guesses, the other address


def test_expired_counts_are_purged(testapp, db_engine, clock):
    for i in range(PER_ADDRESS):
        attempt(testapp, f"guess{i}@example.com", address=f"198.51.100.{i}", status=401)
    assert len(counts(db_engine)) == 2 * PER_ADDRESS
    clock.now += WINDOW + 1
    attempt(testapp, "late@example.com", address="198.51.100.200", status=401)
    assert counts(db_engine) == {"address:198.51.100.200": 1, "account:late@example.com": 1}


#: 2040-01-01 00:00:00 UTC: past 2**31 - 1 seconds (January 2038).
YEAR_2040 = 2_208_988_800


def test_logins_after_january_2038_are_still_counted_and_throttled(testapp, db_engine, clock):
    clock.now = YEAR_2040
    register(testapp, "jake")
    statuses = [attempt(testapp, "jake@example.com").status_int for _ in range(PER_ACCOUNT)]
    throttled = attempt(testapp, "jake@example.com", password="password123")
    print(f"in 2040: statuses {statuses}, then {throttled.status_int}")
    assert statuses == [401] * PER_ACCOUNT
    assert throttled.status_int == 429 and throttled.headers["Retry-After"] == str(WINDOW)
    with db_engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT MAX(window_start) FROM login_attempts")) == YEAR_2040
