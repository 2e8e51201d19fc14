"""The security policy: which views a request may reach.

A view that needs a signed-in user is declared with
``permission="authenticated"``; without a token it answers 401
``{"errors": {"token": ["is missing"]}}``.

``PERMISSIONS`` is every permission a view may name. Any other name (a typo,
or a role nothing grants yet) is denied to everyone: a mistake in a view's
declaration closes the view instead of opening it.
"""

from pyramid.security import Allowed, Denied
from pyramid.view import forbidden_view_config

from ..edge.errors import error_body

#: Each permission a view may name, and whether ``request`` has it.
PERMISSIONS = {
    "authenticated": lambda request: request.user is not None,
    # A validly signed token, revocation not checked yet: for a read whose own
    # statement checks it and answers the same 401 (myapp.users.current's
    # reading_viewer), without a statement for the user's row first.
    "token": lambda request: request.token_claims is not None,
}


class SecurityPolicy:
    """The signed-in user is ``request.user`` (myapp.users.current)."""

    def identity(self, request):
        # Pyramid's name for the signed-in user, whatever it is.
        return request.user

    def authenticated_userid(self, request):
        user = request.user
        return user.id if user is not None else None

    def permits(self, request, context, permission):
        granted = PERMISSIONS.get(permission)
        if granted is None:
            return Denied(f"no such permission: {permission!r}")
        if not granted(request):
            return Denied(f"not {permission}")
        return Allowed(permission)

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


@forbidden_view_config(renderer="json")
def forbidden_view(request):
    if request.user is None:
        request.response.status_int = 401
        request.response.headers["WWW-Authenticate"] = "Token"
        return error_body({"token": ["is missing"]})
    request.response.status_int = 403
    return error_body({"request": ["forbidden"]})
