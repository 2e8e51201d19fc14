"""``request.user``: the signed-in user, loaded once per request.

The token's claims come from myapp.auth (signature and expiry); whether the
token was revoked needs the user's row, so it is checked here.
"""

from typing import NamedTuple

from ..auth.tokens import Tokens, invalid_token
from .models import User


def signed_in_user(request):
    """The User of a valid, unrevoked token, None without a token; 401 otherwise."""
    claims = request.token_claims
    if claims is None:
        return None
    user = request.dbsession.get(User, claims.user_id)
    if user is None or not Tokens.is_current(claims, user):
        raise invalid_token()
    return user


class UncheckedViewer(NamedTuple):
    """A signed-in viewer as the token claims it, revocation not checked yet."""

    id: int
    version: int
    token_id: str


def reading_viewer(request):
    """The viewer of a read whose own statement checks the token (myapp.articles.queries):
    ``request.user`` when it is loaded already, else an ``UncheckedViewer`` (no
    statement of its own), None without a token; 401 for a malformed token."""
    if "user" in request.__dict__:  # reified already: checked
        return request.user
    claims = request.token_claims
    if claims is None:
        return None
    return UncheckedViewer(claims.user_id, claims.version, claims.token_id)
