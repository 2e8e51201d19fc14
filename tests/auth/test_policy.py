"""The security policy: a view names a permission; only known permissions
can be granted, and an unknown one (a typo, a role nothing grants yet) closes
its view to everyone instead of opening it."""

import pytest
import webtest

from ..contract import ContractTestApp
from ..helpers import auth, register


def guarded_views(config):
    """A view per permission name: the real one, a typo of it, a future role."""
    for name in ("authenticated", "authenticted", "admin"):
        config.add_route(f"guarded_{name}", f"/_test/guarded/{name}")
        config.add_view(lambda request: {"reached": True}, route_name=f"guarded_{name}",
                        permission=name, renderer="json")


@pytest.fixture
def client(make_app):
    return webtest.TestApp(make_app(includes=[guarded_views]))


@pytest.fixture
def token(client):
    token, _ = register(ContractTestApp(client.app), "jake")
    return token


def test_the_authenticated_permission_admits_a_signed_in_user_only(client, token):
    assert client.get("/_test/guarded/authenticated", headers=auth(token)).json == {"reached": True}
    anonymous = client.get("/_test/guarded/authenticated", status=401)
    assert anonymous.json == {"errors": {"token": ["is missing"]}}


@pytest.mark.parametrize("permission", ["authenticted", "admin"])
def test_an_unknown_permission_is_denied_even_to_a_signed_in_user(client, token, permission):
    signed_in = client.get(f"/_test/guarded/{permission}", headers=auth(token), status="*")
    print(f"{permission}: signed in {signed_in.status}")
    assert signed_in.status_int == 403
    assert signed_in.json == {"errors": {"request": ["forbidden"]}}
    anonymous = client.get(f"/_test/guarded/{permission}", status="*")
    assert anonymous.status_int == 401 and "reached" not in anonymous.json
