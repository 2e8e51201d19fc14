import webtest
from pyramid.view import view_config

from .contract import ContractTestApp


def test_health_answers_ok_when_the_database_answers(testapp):
    response = testapp.get("/api/health")
    assert response.status_int == 200
    assert response.json == {"status": "ok"}


def test_health_answers_503_in_json_when_the_database_does_not(make_app, backend, tmp_path):
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/db.sqlite",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2",
    }[backend]
    testapp = ContractTestApp(make_app(**{"sqlalchemy.url": unreachable}))
    response = testapp.get("/api/health", status=503)
    assert response.content_type == "application/json"
    assert response.json == {"errors": {"database": ["unavailable"]}}


def test_liveness_and_readiness_answer_ok_when_the_database_answers(testapp):
    assert testapp.get("/api/health/live").json == {"status": "ok"}
    assert testapp.get("/api/health/ready").json == {"status": "ok"}


def test_liveness_needs_no_database_and_readiness_reports_it_down(make_app, backend, tmp_path):
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/db.sqlite",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere",
    }[backend]
    app = make_app(**{"sqlalchemy.url": unreachable})
    testapp = ContractTestApp(app)
    assert testapp.get("/api/health/live").json == {"status": "ok"}
    response = testapp.get("/api/health/ready", status=503)
    assert response.json == {"errors": {"database": ["unavailable"]}}
    assert response.headers["Retry-After"] == "1"
    pool = app.registry["dbsession_factory"].kw["bind"].pool
    assert pool.checkedout() == 0 and pool.checkedin() == 0, "readiness has an engine of its own"


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
