"""Who a request claims to be, without a database lookup.

``request.user`` loads the user from the database (myapp.security); choosing a
database for the request (myapp.db.replication) and logging it
(myapp.observability) must happen without that query. Only the token's
signature and expiry are checked here (not revocation: that needs the user's row).
"""

from .edge.errors import APIError


def claimed_user_id(request):
    """``request.claimed_user_id``: the user id a valid token names, else None.

    The token is decoded once per request: ``request.token_identity`` is
    reified and ``request.user`` reads the same one.
    """
    try:
        identity = request.token_identity
    except APIError:  # malformed, tampered or expired: the view answers 401
        return None
    return identity.user_id if identity is not None else None


def includeme(config):
    config.add_request_method(claimed_user_id, "claimed_user_id", reify=True)
