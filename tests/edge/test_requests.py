"""The router's requests get their methods from a class made once (myapp.edge.requests)."""

import webtest
from pyramid.request import Request
from pyramid.scripting import prepare


def seen_requests(config):
    seen = []

    def look(request):
        seen.append((type(request), dict(request.__dict__), request.dbsession, request.tm,
                     request.client_address, request.claimed_user_id))
        return {}

    config.add_route("look", "/_test/look")
    config.add_view(look, route_name="look", renderer="json")
    config.registry["seen"] = seen


def test_every_request_of_the_router_shares_one_class_with_every_extension(make_app):
    app = make_app(includes=[seen_requests])
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    client.get("/_test/look")
    client.get("/_test/look")
    (first, before, session, tm, address, user_id), (second, _, other, *_) = app.registry["seen"]
    assert first is second  # no class made per request
    assert issubclass(first, Request)
    # Reified as before: computed on first access, then kept on the instance.
    assert "dbsession" not in before and session is not other
    assert address == "127.0.0.1" and user_id is None and tm is not None


def test_requests_made_outside_the_router_still_get_the_extensions(make_app):
    app = make_app()
    with prepare(request=Request.blank("/"), registry=app.registry) as env:
        assert env["request"].dbsession is not None
        assert env["request"].client_address is None
