"""The user a request claims to be, without a database lookup.

``request.user`` loads the user from the database (myapp.users.current);
choosing a database for the request (myapp.db.replication) and logging it
(myapp.observability) must happen without that query. Only the token's
signature and expiry are checked here (not revocation: that needs the user's row).
"""

from ..edge.errors import APIError


def claimed_user_id(request):
    """``request.claimed_user_id``: the user id a valid token names, else None.

    The token is decoded once per request: ``request.token_claims`` is
    reified and ``request.user`` reads the same one.
    """
    try:
        claims = request.token_claims
    except APIError:  # malformed, tampered or expired: the view answers 401
        return None
    return claims.user_id if claims is not None else None
