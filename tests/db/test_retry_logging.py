"""Logs that tell the truth: a replayed attempt logs one INFO line with its
attempt number and reason; the final outcome is logged once, at ERROR only
when the client gets a 5xx (myapp.db.transactions).

Test-only views fail their first ``fail`` attempts with a given error.
"""

import logging

import psycopg.errors
import pytest
import sqlalchemy as sa
import sqlalchemy.orm.exc
import webtest
from pyramid.view import view_config


def _database_error(kind):
    if kind == "serialization":
        orig = psycopg.errors.SerializationFailure("could not serialize access")
        return sa.exc.OperationalError("UPDATE ...", {"password_hash": "$argon2-secret"}, orig)
    if kind == "conflict":
        orig = Exception('duplicate key value violates unique constraint "uq_x"\nDETAIL: ...')
        return sa.exc.IntegrityError("INSERT ...", {"password_hash": "$argon2-secret"}, orig)
    if kind == "stale":
        return sqlalchemy.orm.exc.StaleDataError("DELETE expected to delete 1 row(s); 0 were matched")
    return RuntimeError("a bug")


@view_config(route_name="flaky_attempts", request_method="POST", renderer="json")
def flaky_attempts(request):
    request.dbsession.execute(sa.select(1))  # join the transaction, as a real view does
    attempt = request.environ.get("retry.attempt", 0)
    if attempt < int(request.params["fail"]):
        raise _database_error(request.params["kind"])
    return {"attempt": attempt + 1}


def flaky_views(config):
    config.add_route("flaky_attempts", "/_test/flaky-attempts")
    config.scan(__name__)


@pytest.fixture
def client(make_app):
    return webtest.TestApp(make_app(includes=[flaky_views]))


def app_log(caplog):
    """(level name, message) of every record the application logged."""
    return [(r.levelname, r.getMessage()) for r in app_records(caplog)]


def app_records(caplog):
    """The application's log records, without the access log's one line per request."""
    return [r for r in caplog.records if r.name.startswith("myapp") and r.name != "myapp.access"]


def replays(log):
    return [message for level, message in log if level == "INFO" and "replaying" in message]


def post(client, kind, fail, status):
    return client.post("/_test/flaky-attempts", {"kind": kind, "fail": str(fail)}, status=status)


@pytest.mark.parametrize("kind", ["serialization", "conflict", "stale"])
def test_a_request_that_succeeds_on_a_replay_logs_one_info_line_per_replay(client, caplog, kind):
    caplog.set_level(logging.INFO)
    assert post(client, kind, fail=2, status=200).json == {"attempt": 3}
    log = app_log(caplog)
    print(log)
    assert len(replays(log)) == 2 and len(log) == 2, log
    assert "attempt 1 of 3" in log[0][1] and "attempt 2 of 3" in log[1][1]
    assert all(level == "INFO" for level, _ in log)


def test_a_transient_error_on_every_attempt_is_one_error_line_and_a_503(client, caplog):
    caplog.set_level(logging.INFO)
    post(client, "serialization", fail=3, status=503)
    log = app_log(caplog)
    print(log)
    assert len(replays(log)) == 2
    errors = [message for level, message in log if level == "ERROR"]
    assert len(errors) == 1 and len(log) == 3, log
    assert "attempt 3 of 3" in errors[0] and "could not serialize access" in errors[0]


def test_a_conflict_on_every_attempt_is_a_409_and_no_error_line(client, caplog):
    caplog.set_level(logging.INFO)
    post(client, "conflict", fail=3, status=409)
    log = app_log(caplog)
    assert len(replays(log)) == 2
    assert [level for level, _ in log] == ["INFO", "INFO", "WARNING"], log
    assert "answered 409 (attempt 3 of 3)" in log[2][1] and "uq_x" in log[2][1]


def test_a_bug_is_not_replayed_and_logs_one_error_with_its_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    post(client, "bug", fail=1, status=500)
    records = app_records(caplog)
    assert [r.levelname for r in records] == ["ERROR"]
    assert records[0].exc_info is not None


def test_reasons_never_carry_the_statements_parameters(client, caplog):
    caplog.set_level(logging.INFO)
    post(client, "serialization", fail=3, status=503)
    post(client, "conflict", fail=3, status=409)
    assert "$argon2-secret" not in caplog.text
