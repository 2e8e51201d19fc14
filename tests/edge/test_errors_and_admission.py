"""Edge answers that used to be wrong: a missing static file, /metrics under saturation."""

import webtest
from pyramid.view import view_config


def test_a_missing_static_file_is_a_json_404(testapp):
    answer = webtest.TestApp(testapp.app).get(
        "/api/docs/static/no-such-file.js", status=404
    )
    assert answer.json == {"errors": {"path": ["not found"]}}
    assert "Allow" not in answer.headers


def test_a_method_no_view_accepts_is_still_405_with_its_allow(testapp):
    answer = webtest.TestApp(testapp.app).delete("/api/tags", status=405)
    assert answer.json == {"errors": {"method": ["not allowed"]}}
    assert answer.headers["Allow"] == "GET, HEAD"


@view_config(route_name="occupy_metrics", request_method="GET", renderer="json")
def occupy(request):
    """While this request holds the only admission slot, others arrive (the same thread)."""
    again = webtest.TestApp(request.registry["wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    return {"tags": again.get("/api/tags", status="*").status_int,
            "metrics": again.get("/metrics", status="*").status_int}


def occupying_view(config):
    config.add_route("occupy_metrics", "/_test/occupy-metrics")
    config.scan(__name__)


def test_metrics_answer_while_the_process_is_saturated(make_app):
    app = make_app(includes=[occupying_view], **{"myapp.max_busy_requests": "1"})
    app.registry["wsgi_app"] = app
    answer = webtest.TestApp(app).get("/_test/occupy-metrics").json
    assert answer == {"tags": 503, "metrics": 200}
