"""Who a request claims to be, without a database lookup.

``request.user`` loads the user from the database (myapp.security); choosing a
database for the request (myapp.replication) and logging it
(myapp.observability) must happen without that query. Only the token's
signature and expiry are checked here (not revocation: that needs the user's row).
"""

from .security import presented_token


def claimed_user_id(request):
    """``request.claimed_user_id``: the user id a valid token names, else None."""
    token = presented_token(request)
    if not token:
        return None
    identity = request.registry["tokens"].identity(token)
    return identity.user_id if identity is not None else None


def includeme(config):
    config.add_request_method(claimed_user_id, "claimed_user_id", reify=True)
