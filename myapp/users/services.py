"""The users' and profiles' work with the database: small functions of a dbsession."""

from sqlalchemy import exists, select

from ..edge.errors import APIError, error, not_found
from ..models import utcnow
from ..auth.tokens import Tokens, invalid_token
from .models import Follow, User, lookup_key

UNIQUE_FIELDS = ("username", "email")


def _check_unique(dbsession, values, exclude_id=None):
    """409 naming every field whose value another user already has, in any case.

    Two requests racing past this check make the second INSERT or UPDATE fail
    on the database's unique constraint; that request is replayed and then
    fails here, cleanly (see myapp.db).
    """
    taken = {}
    for field in UNIQUE_FIELDS:
        value = values.get(field)
        if value is None:
            continue
        query = select(User.id).where(getattr(User, f"{field}_key") == lookup_key(value))
        if exclude_id is not None:
            query = query.where(User.id != exclude_id)
        if dbsession.scalar(query) is not None:
            taken[field] = ["has already been taken"]
    if taken:
        raise APIError(409, taken)


def register(dbsession, passwords, new_user):
    _check_unique(dbsession, {"username": new_user.username, "email": new_user.email})
    user = User(
        username=new_user.username,
        email=new_user.email,
        password_hash=passwords.hash(new_user.password),
    )
    dbsession.add(user)
    dbsession.flush()
    return user


def _invalid_credentials():
    return error(401, "credentials", "invalid")


def authenticate(dbsession, passwords, email, password):
    """The user with these credentials (email in any case), or 401 ``credentials: invalid``."""
    user = dbsession.scalar(select(User).where(User.email_key == lookup_key(email)))
    if not passwords.verify(user.password_hash if user else None, password):
        raise _invalid_credentials()
    if passwords.needs_rehash(user.password_hash):
        verified_hash = user.password_hash
        lock_user(dbsession, user)
        if user.password_hash != verified_hash:
            # A password change committed meanwhile: the password verified is
            # no longer the password, and re-hashing it would undo the change.
            raise _invalid_credentials()
        user.password_hash = passwords.hash(password)
    return user


def lock_user(dbsession, user):
    """Reload ``user`` and lock its row until the transaction ends, for a change.

    Every write to a user goes through here first, so two writes to one user
    serialize: the second reads the first one's result instead of a copy it
    loaded before (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite a
    writing request already holds the database's write lock, myapp.db).
    """
    dbsession.refresh(user, with_for_update=True)


def update_user(dbsession, passwords, user, token, changes, precondition=None):
    """Apply the fields present in ``changes`` (a UserUpdate) for ``user``, the
    request's authenticated user, whose ``token`` (its TokenClaims) it presented.

    ``precondition(user)``, when given, runs once the row is locked and may
    raise to refuse the change (If-Match, myapp.edge.conditional).

    A new password revokes every token of the user but ``token``
    (myapp.auth.tokens.Tokens). Also a token revoked while this request waited
    for the lock: 401, as it would have been a moment later.
    """
    given = changes.model_dump(include=changes.model_fields_set)
    lock_user(dbsession, user)
    if not Tokens.is_current(token, user):
        raise invalid_token()
    if precondition is not None:
        precondition(user)
    _check_unique(dbsession, given, exclude_id=user.id)
    password = given.pop("password", None)
    if password is not None:
        user.password_hash = passwords.hash(password)
        user.token_version += 1
        user.password_changed_by = token.token_id
    for field, value in given.items():
        setattr(user, field, value)
    user.updated_at = utcnow()
    dbsession.flush()
    return user


def find_profile(dbsession, username):
    """The user named ``username`` in any case: /profiles/Alice is alice's profile."""
    user = dbsession.scalar(select(User).where(User.username_key == lookup_key(username)))
    if user is None:
        raise not_found("profile")
    return user


def is_following(dbsession, follower, followee):
    if follower is None:
        return False
    return dbsession.scalar(
        select(
            exists().where(Follow.follower_id == follower.id, Follow.followee_id == followee.id)
        )
    )


def follow(dbsession, follower, followee):
    """Idempotent: following twice leaves one follow."""
    if follower.id == followee.id:
        raise error(403, "profile", "can't follow yourself")
    if not is_following(dbsession, follower, followee):
        dbsession.add(Follow(follower_id=follower.id, followee_id=followee.id))
        dbsession.flush()


def unfollow(dbsession, follower, followee):
    follow_row = dbsession.get(Follow, (follower.id, followee.id))
    if follow_row is not None:
        dbsession.delete(follow_row)
        dbsession.flush()
