"""What an operator sees of each request: access log, Server-Timing, X-Request-ID, metrics."""

import io
import json
import logging
import re

import pyramid_retry
import pytest
import sqlalchemy as sa
import webtest
from prometheus_client import REGISTRY

from myapp.observability.metrics import watch_pool

from ..helpers import auth, register

TEST_LOG = logging.getLogger("myapp.tests")
SERVER_TIMING = re.compile(r"^db;dur=(\d+\.\d), app;dur=(\d+\.\d)$")


class Flaky(Exception):
    """Raised on a request's first attempt; retryable."""


def observed_views(config):
    def log_inside(request):
        TEST_LOG.warning("inside the request")
        return {}

    def flaky(request):
        request.dbsession.execute(sa.text("SELECT 1"))
        if request.environ.get("retry.attempt", 0) == 0:
            error = Flaky()
            pyramid_retry.mark_error_retryable(error)
            raise error
        return {"attempt": request.environ["retry.attempt"]}

    for name, view, method in (
        ("log_inside", log_inside, "GET"),
        ("flaky", flaky, "POST"),
    ):
        config.add_route(name, f"/_test/{name}")
        config.add_view(view, route_name=name, request_method=method, renderer="json")


@pytest.fixture
def client(make_app):
    return webtest.TestApp(make_app(includes=[observed_views]), extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def access_log(caplog):
    caplog.set_level(logging.INFO, logger="myapp.access")

    def lines():
        return [json.loads(r.getMessage()) for r in caplog.records if r.name == "myapp.access"]

    return lines


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_one_access_log_line_per_request_with_what_an_operator_needs(
    testapp, access_log
):
    token, _ = register(testapp, "logged")
    testapp.post_json(
        "/api/articles",
        {"article": {"title": "Logged", "description": "d", "body": "b"}},
        headers=auth(token),
        status=201,
    )
    testapp.get("/api/articles", params={"limit": "20"}, headers=auth(token))
    testapp.get("/api/nowhere", status=404)

    register_line, create, listing, missing = access_log()
    assert register_line["route"] == "users" and register_line["tx"] == "commit"
    assert create["method"] == "POST" and create["status"] == 201 and create["tx"] == "commit"
    assert create["user_id"] == listing["user_id"] and isinstance(create["user_id"], int)
    assert listing == {
        **listing,
        "method": "GET",
        "route": "articles",
        "path": "/api/articles",
        "status": 200,
        "tx": "read-only",
        "retries": 0,
        "db": "primary",
    }
    assert listing["sql"] >= 1 and 0 <= listing["db_ms"] <= listing["duration_ms"]
    assert len(listing["request_id"]) == 32
    assert missing["route"] is None and missing["status"] == 404 and missing["tx"] == "none"


def test_server_timing_gives_database_and_application_time(testapp):
    response = testapp.get("/api/articles")
    db_ms, app_ms = map(float, SERVER_TIMING.match(response.headers["Server-Timing"]).groups())
    assert db_ms >= 0 and app_ms > 0


def test_a_well_formed_request_id_is_kept_and_in_every_log_line_of_the_request(
    client, caplog, access_log
):
    caplog.set_level(logging.INFO, logger="myapp.tests")
    response = client.get("/_test/log_inside", headers={"X-Request-ID": "lb-7f3a:01"})
    assert response.headers["X-Request-ID"] == "lb-7f3a:01"
    inside = [r for r in caplog.records if r.name == "myapp.tests"]
    assert [r.request_id for r in inside] == ["lb-7f3a:01"]
    assert access_log()[-1]["request_id"] == "lb-7f3a:01"


@pytest.mark.parametrize("sent", ["x" * 129, "has space", "quote\"d", "", "new\\nline"])
def test_a_malformed_request_id_is_replaced(client, sent):
    response = client.get("/_test/log_inside", headers={"X-Request-ID": sent})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_a_replayed_request_is_logged_once_with_its_retries(client, access_log):
    retries = sample("myapp_request_retries_total")
    assert client.post("/_test/flaky").json == {"attempt": 1}
    (line,) = access_log()
    assert (line["route"], line["status"], line["tx"], line["retries"]) == ("flaky", 200, "commit", 1)
    assert sample("myapp_request_retries_total") == retries + 1


def test_metrics_count_requests_by_route_and_status_class(client):
    labels = {"route": "articles", "status_class": "2xx"}
    before = sample("myapp_http_request_duration_seconds_count", **labels)
    committed = sample("myapp_db_transactions_total", outcome="read-only", database="primary")
    client.get("/api/articles")
    client.get("/api/articles", params={"limit": "5"})
    text = client.get("/metrics").text
    assert sample("myapp_http_request_duration_seconds_count", **labels) == before + 2
    assert sample("myapp_db_transactions_total", outcome="read-only", database="primary") == committed + 2
    assert 'myapp_http_request_duration_seconds_bucket{le="0.1",route="articles",status_class="2xx"}' in text
    assert 'myapp_db_pool_checked_out{database="primary"}' in text


def test_unknown_paths_share_one_series(client):
    for path in ("/nothing/1", "/nothing/2", "/api/zzz"):
        client.get(path, status=404)
    text = client.get("/metrics").text
    routes = set(re.findall(r'myapp_http_request_duration_seconds_count\{route="([^"]*)"', text))
    assert "none" in routes and not any("nothing" in route or "zzz" in route for route in routes)


def test_metrics_are_not_served_outside_the_allowed_networks(make_app):
    public = webtest.TestApp(make_app(), extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    refused = public.get("/metrics", status=404)
    assert refused.json == {"errors": {"path": ["not found"]}}
    # Exactly an unknown path's answer (the edge's exception view renders both).
    unknown = public.get("/no-such-path", status=404)
    assert (refused.content_type, refused.body) == (unknown.content_type, unknown.body)
    public.head("/metrics", status=404)
    operators = webtest.TestApp(
        make_app(**{"myapp.metrics_allowed_networks": "203.0.113.0/24"}),
        extra_environ={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert "myapp_http_request_duration_seconds" in operators.get("/metrics").text


def test_observability_off_adds_no_headers_and_no_log(make_app, access_log):
    quiet = webtest.TestApp(make_app(**{"myapp.observability": "false"}))
    response = quiet.get("/api/articles", headers={"X-Request-ID": "abc"})
    assert "X-Request-ID" not in response.headers and "Server-Timing" not in response.headers
    assert access_log() == []


def test_the_pool_gauges_follow_checkouts_and_checkins():
    """Written only when they change (myapp.observability.metrics.watch_pool), yet current
    after every checkout and checkin: the checkin event comes before the pool takes the
    connection back, which the gauges once counted as still checked out."""
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=2)
    watch_pool(engine, "gauge-test")

    def gauges():
        return (sample("myapp_db_pool_checked_out", database="gauge-test"),
                sample("myapp_db_pool_overflow", database="gauge-test"))

    first = engine.connect()
    assert gauges() == (1, 0)
    more = [engine.connect() for _ in range(3)]  # two pooled, then two beyond pool_size
    assert gauges() == (4, 2)
    for connection in more:  # two back into the pool's queue, the third closed: it is full
        connection.close()
    assert gauges() == (1, 1)
    first.close()  # closed too: nothing open beyond pool_size any more
    assert gauges() == (0, 0)
    engine.dispose()


@pytest.fixture
def production_access_log():
    """myapp.access configured as production.ini configures it, writing into a string."""
    logger = logging.getLogger("myapp.access")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))

    def configure():
        # In the test's body: pytest adds its capturing handlers when the test starts.
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)

    yield configure, logger, handler, stream
    logger.handlers[:], logger.propagate, logger.level = saved


def test_production_log_configuration_gets_the_same_lines_written_directly(
    testapp, production_access_log, monkeypatch
):
    configure, logger, handler, stream = production_access_log
    configure()
    made = []
    monkeypatch.setattr(logger, "makeRecord", lambda *args: made.append(args))  # logging's path
    testapp.get("/api/articles", headers={"X-Request-ID": "direct-1"})
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert made == []  # no record made: written directly
    assert set(line) == {"time", "request_id", "method", "route", "path", "status", "duration_ms",
                         "db_ms", "sql", "tx", "retries", "db", "user_id", "client"}
    assert (line["request_id"], line["route"], line["status"]) == ("direct-1", "articles", 200)


def test_any_other_log_configuration_keeps_loggings_path(testapp, production_access_log):
    configure, logger, handler, stream = production_access_log
    configure()
    handler.setFormatter(logging.Formatter("access %(levelname)s %(message)s"))
    testapp.get("/api/articles", headers={"X-Request-ID": "formatted-1"})
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda record: "dropped" not in record.getMessage())
    testapp.get("/api/articles", headers={"X-Request-ID": "dropped-1"})
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("access INFO {") and json.loads(line[12:])["request_id"] == "formatted-1"
