"""request.client_address: the peer, unless a trusted proxy names the client.

A client can write X-Forwarded-For itself; only a trusted peer's header counts,
and only the entry its hops point at. The throttle and /metrics follow it.
"""

import webtest
from pyramid.view import view_config

from ..contract import ContractTestApp

FORGED = "198.51.100.66"


@view_config(route_name="whoami", request_method="GET", renderer="json")
def whoami(request):
    return {"client": request.client_address}


def whoami_view(config):
    config.add_route("whoami", "/_test/whoami")
    config.scan(__name__)


def client_of(app, peer, headers=None):
    testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": peer})
    return testapp.get("/_test/whoami", headers=headers or {}).json["client"]


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_writes(make_app):
    app = make_app(includes=[whoami_view])
    assert client_of(app, "203.0.113.9", {"X-Forwarded-For": FORGED}) == "203.0.113.9"
    assert client_of(app, "203.0.113.9", {"Forwarded": f"for={FORGED}"}) == "203.0.113.9"


def test_a_trusted_proxy_names_the_client_and_what_the_client_wrote_is_ignored(make_app):
    app = make_app(includes=[whoami_view], **{"myapp.trusted_proxies": "10.0.0.0/8"})
    # nginx appends the address it saw: whatever the client sent stays on the left.
    assert client_of(app, "10.1.2.3", {"X-Forwarded-For": f"{FORGED}, 203.0.113.9"}) == (
        "203.0.113.9")
    assert client_of(app, "10.1.2.3", {"X-Forwarded-For": "203.0.113.9"}) == "203.0.113.9"
    assert client_of(app, "10.1.2.3") == "10.1.2.3", "no header: the proxy itself"
    assert client_of(app, "10.1.2.3", {"X-Forwarded-For": "not-an-address"}) == "10.1.2.3"
    # A peer outside the trusted networks is not believed.
    assert client_of(app, "192.0.2.1", {"X-Forwarded-For": FORGED}) == "192.0.2.1"


def test_hops_count_proxies_in_a_row_and_the_forwarded_header_can_be_chosen(make_app):
    two = make_app(includes=[whoami_view], **{
        "myapp.trusted_proxies": "10.0.0.0/8", "myapp.trusted_proxy_hops": "2"})
    chain = {"X-Forwarded-For": f"{FORGED}, 203.0.113.9, 10.0.0.7"}
    assert client_of(two, "10.1.2.3", chain) == "203.0.113.9"
    rfc = make_app(includes=[whoami_view], **{
        "myapp.trusted_proxies": "unix", "myapp.forwarded_header": "forwarded"})
    header = {"Forwarded": f'for={FORGED};proto=https, for="[2001:db8::1]:4711"',
              "X-Forwarded-For": FORGED}
    assert client_of(rfc, "", header) == "2001:db8::1", "a unix-socket peer trusted as unix"
    assert client_of(rfc, "127.0.0.1", header) == "127.0.0.1", "a TCP peer is not unix"


def test_the_login_throttle_counts_the_client_behind_a_trusted_proxy(make_app):
    app = make_app(**{"myapp.trusted_proxies": "10.0.0.0/8",
                      "myapp.login_failures_per_address": "2"})
    login = {"user": {"email": "nobody@example.com", "password": "wrong-password"}}

    def attempt(client, forged=None):
        chain = f"{forged}, {client}" if forged else client
        testapp = ContractTestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        return testapp.post_json("/api/users/login", login, status="*",
                                 headers={"X-Forwarded-For": chain}).status_int

    assert [attempt("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.2") == 401, "another client behind the same proxy"
    assert attempt("203.0.113.1", forged="203.0.113.3") == 429, "a forged entry changes nothing"


def test_metrics_answer_the_proxys_client_only_when_it_is_allowed(make_app):
    app = make_app(**{"myapp.trusted_proxies": "127.0.0.1/32"})
    local = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    assert local.get("/metrics").status_int == 200
    outside = {"X-Forwarded-For": "203.0.113.9"}
    assert local.get("/metrics", headers=outside, status=404).json == {
        "errors": {"path": ["not found"]}}
