import webtest
from pyramid.view import view_config

from .contract import ContractTestApp


def test_health_answers_ok_and_what_it_last_saw_of_the_database(testapp):
    response = testapp.get("/api/health")
    assert response.status_int == 200
    assert response.json["status"] == "ok"
    testapp.get("/api/articles")
    assert testapp.get("/api/health").json == {"status": "ok", "database": "ok"}


def test_liveness_and_readiness_answer_ok_when_the_database_answers(testapp):
    assert testapp.get("/api/health/live").json == {"status": "ok"}
    testapp.get("/api/tags")
    assert testapp.get("/api/health/ready").json == {"status": "ok", "database": "ok"}


def test_readiness_stays_ready_when_the_database_is_down_and_reports_it(
    make_app, backend, tmp_path
):
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/db.sqlite",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2",
    }[backend]
    app = make_app(**{"sqlalchemy.url": unreachable})
    testapp = ContractTestApp(app)
    assert testapp.get("/api/health/live").json == {"status": "ok"}
    failed = testapp.get("/api/articles", status=503)
    assert failed.json == {"errors": {"database": ["unavailable"]}}
    # The instance is fine: a load balancer keeps it (every instance shares the database).
    assert testapp.get("/api/health/ready").json == {"status": "ok", "database": "unavailable"}
    metrics = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"}).get("/metrics")
    assert "myapp_database_available 0.0" in metrics.text
    pool = app.registry["dbsession_factory"].kw["bind"].pool
    assert pool.checkedout() == 0, "readiness waits on no connection"


def test_a_draining_process_is_not_ready(testapp):
    from myapp.health import DRAINING

    DRAINING.set()
    try:
        response = testapp.get("/api/health/ready", status=503)
    finally:
        DRAINING.clear()
    assert response.json == {"errors": {"server": ["draining"]}}
    assert response.headers["Retry-After"] == "1"
    assert testapp.get("/api/health/live").status_int == 200


@view_config(route_name="occupy", request_method="GET", renderer="json")
def occupy(request):
    """While this request is inside the application, others arrive (the same thread)."""
    again = webtest.TestApp(request.registry["wsgi_app"])
    busy = again.get("/api/tags", status="*")
    live = again.get("/api/health/live", status="*")
    return {"busy": [busy.status_int, busy.headers.get("Retry-After"), busy.json],
            "live": live.status_int}


def occupying_view(config):
    config.add_route("occupy", "/_test/occupy")
    config.scan(__name__)


def test_a_saturated_process_answers_503_at_once_except_liveness(make_app):
    app = make_app(includes=[occupying_view], **{"myapp.max_busy_requests": "1"})
    app.registry["wsgi_app"] = app
    answer = webtest.TestApp(app).get("/_test/occupy").json
    assert answer == {"busy": [503, "1", {"errors": {"server": ["busy"]}}], "live": 200}
    ContractTestApp(app).get("/api/tags", status=200)  # admitted again once the first one left
