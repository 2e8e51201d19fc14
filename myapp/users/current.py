"""``request.user``: the signed-in user, loaded once per request.

The token's claims come from myapp.auth (signature and expiry); whether the
token was revoked needs the user's row, so it is checked here.
"""

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
