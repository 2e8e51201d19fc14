"""``request.user``: the signed-in user, loaded once per request.

The token's claims come from myapp.auth (signature and expiry); whether the
token was revoked needs the user's row, so it is checked here: by
``request.user``, a statement of its own, or, for a read (``reading_viewer``),
inside the read's own statement (``VIEWER_CURRENT``, ``check_viewer``).
"""

from typing import NamedTuple

from sqlalchemy import bindparam, exists, or_, select

from ..auth.tokens import Tokens, invalid_token
from ..db.compiled import Compiled
from .models import User

users = User.__table__


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
    """The viewer of a read whose own statement checks the token (the list, the feed, one
    article, its comments): ``request.user`` when it is loaded already, else an
    ``UncheckedViewer`` (no statement of its own), None without a token; 401 for a
    malformed token."""
    if "user" in request.__dict__:  # reified already: checked
        return request.user
    claims = request.token_claims
    if claims is None:
        return None
    return UncheckedViewer(claims.user_id, claims.version, claims.token_id)


#: Whether the viewer's token is still current (``Tokens.is_current``), in SQL: a read's
#: column ``viewer_current`` (uncorrelated: the database evaluates it once per statement).
VIEWER_CURRENT = exists().where(
    users.c.id == bindparam("viewer_id"),
    or_(
        users.c.token_version == bindparam("viewer_version"),
        users.c.password_changed_by == bindparam("viewer_token_id"),
    ),
)


def with_viewer_check(statement):
    """``statement`` with the column ``viewer_current``, for ``check_viewer``."""
    return statement.add_columns(VIEWER_CURRENT.label("viewer_current"))


#: The same check alone, for a read that found no row to carry it.
_VIEWER_CHECK = Compiled(select(VIEWER_CURRENT.label("viewer_current")))


#: What a read's statement needs to know of its viewer (``viewer_kind``): none, a
#: signed-in user already checked (``request.user``), or one its statement checks.
ANONYMOUS, SIGNED_IN, UNCHECKED = VIEWER_KINDS = ("anonymous", "signed in", "unchecked")


def viewer_kind(viewer):
    if viewer is None:
        return ANONYMOUS
    return UNCHECKED if isinstance(viewer, UncheckedViewer) else SIGNED_IN


def viewer_params(viewer):
    """The parameters of a read for ``viewer`` (None, a User or an ``UncheckedViewer``)."""
    if viewer is None:
        return {}
    if isinstance(viewer, UncheckedViewer):
        return {"viewer_id": viewer.id, "viewer_version": viewer.version, "viewer_token_id": viewer.token_id}
    return {"viewer_id": viewer.id}


def check_viewer(dbsession, viewer, rows):
    """401, as ``request.user`` answers, unless ``viewer`` is None, a User, or an
    ``UncheckedViewer`` whose token is current: read from the first of ``rows``
    (a statement with the column ``viewer_current``) or, when there is none, by a
    statement of its own (a read that found nothing, on its way to a 404)."""
    if not isinstance(viewer, UncheckedViewer):
        return
    found = rows[0] if rows else _VIEWER_CHECK.first(dbsession, viewer_params(viewer))
    if not found.viewer_current:
        raise invalid_token()
