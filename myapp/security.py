"""Passwords (Argon2id), tokens (signed, expiring JWTs) and the security policy.

A request authenticates with ``Authorization: Token <jwt>`` (``Bearer`` is
accepted too). A view that needs a user is declared with
``permission="authenticated"``; without a token it answers 401
``{"errors": {"token": ["is missing"]}}``. A token that is present but
tampered with, expired, signed with another algorithm (``alg: none``
included) or naming an unknown user answers 401 ``is invalid``, on every route
that looks at the user.

Settings: ``myapp.jwt_secret`` (production reads it from the environment),
``myapp.jwt_expiry_seconds``, ``myapp.argon2_time_cost``,
``myapp.argon2_memory_kib``, ``myapp.argon2_parallelism``.
"""

import datetime
import secrets
from typing import NamedTuple

import argon2
import jwt
from pyramid.security import Allowed, Denied
from pyramid.exceptions import ConfigurationError
from pyramid.view import forbidden_view_config

from .edge.errors import error
from .models import MAX_ID, utcnow

JWT_ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
AUTH_SCHEMES = ("token", "bearer")
TOKEN_ID_BYTES = 12


class Passwords:
    """Argon2id hashing with the cost from the settings."""

    def __init__(self, time_cost, memory_kib, parallelism):
        self.hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the email is unknown, so that a login takes as
        # long whether or not the account exists.
        self.decoy_hash = self.hasher.hash("decoy password, never matches")

    def hash(self, password):
        return self.hasher.hash(password)

    def verify(self, password_hash, password):
        """True when ``password`` matches; ``password_hash`` None runs the decoy."""
        try:
            return self.hasher.verify(password_hash or self.decoy_hash, password) and bool(
                password_hash
            )
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, password_hash):
        return self.hasher.check_needs_rehash(password_hash)


class TokenIdentity(NamedTuple):
    """What a valid token says: whose it is, its version, its own id."""

    user_id: int
    version: int
    token_id: str


class Tokens:
    """HS256 JWTs: the user id (``sub``), the user's token version when issued
    (``ver``), the token's own random id (``jti``), issue and expiry times.

    Revocation (``is_current``): a password change increments the user's
    ``token_version`` and records the ``jti`` of the token that made it. Every
    earlier token (other devices, older logins) stops working; the token that
    changed the password keeps working, as clients that keep using it expect.
    A counter and an id, not the issue time: two tokens issued within one
    second are told apart. Tokens without ``ver`` and ``jti`` (issued before
    revocation existed) are refused: their users sign in once more.
    """

    def __init__(self, secret, expiry_seconds):
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"myapp.jwt_secret must be at least {MIN_SECRET_BYTES} bytes")
        self.secret = secret
        self.expiry = datetime.timedelta(seconds=expiry_seconds)

    def issue(self, user):
        now = utcnow()
        claims = {
            "sub": str(user.id),
            "ver": user.token_version,
            "jti": secrets.token_hex(TOKEN_ID_BYTES),
            "iat": now,
            "exp": now + self.expiry,
        }
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM)

    def identity(self, token):
        """The TokenIdentity of a validly signed, unexpired token; None otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["sub", "ver", "jti", "exp", "iat"]},
            )
            identity = TokenIdentity(int(claims["sub"]), claims["ver"], claims["jti"])
        except (jwt.InvalidTokenError, ValueError):
            return None
        if not (0 < identity.user_id <= MAX_ID) or type(identity.version) is not int:
            return None
        return identity if isinstance(identity.token_id, str) else None

    @staticmethod
    def is_current(identity, user):
        """Not revoked: issued since the user's last password change, or the token that made it."""
        return (
            identity.version == user.token_version
            or identity.token_id == user.password_changed_by
        )


def invalid_token():
    """401 ``token: is invalid``: tampered, expired, revoked, or naming no user."""
    return error(401, "token", "is invalid", {"WWW-Authenticate": "Token"})


def presented_token(request):
    """The token of the Authorization header, '' when the header is malformed,
    None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not token.strip():
        return ""
    return token.strip()


def token_identity(request):
    """``request.token_identity``: the TokenIdentity of the presented token, None
    without a token; 401 when it is malformed, tampered with or expired."""
    token = presented_token(request)
    if token is None:
        return None
    identity = request.registry["tokens"].identity(token) if token else None
    if identity is None:
        raise invalid_token()
    return identity


def authenticated_user(request):
    """``request.user``: the User of a valid, unrevoked token, or None without a token."""
    from .users.models import User

    identity = request.token_identity
    if identity is None:
        return None
    user = request.dbsession.get(User, identity.user_id)
    if user is None or not Tokens.is_current(identity, user):
        raise invalid_token()
    return user


class SecurityPolicy:
    """Identity from the token; the only permission is "authenticated"."""

    def identity(self, request):
        return request.user

    def authenticated_userid(self, request):
        user = request.user
        return user.id if user is not None else None

    def permits(self, request, context, permission):
        if permission == "authenticated" and request.user is None:
            return Denied("no token")
        return Allowed("ok")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


@forbidden_view_config(renderer="json")
def forbidden_view(request):
    if request.user is None:
        request.response.status_int = 401
        request.response.headers["WWW-Authenticate"] = "Token"
        return {"errors": {"token": ["is missing"]}}
    request.response.status_int = 403
    return {"errors": {"request": ["forbidden"]}}


def includeme(config):
    settings = config.get_settings()
    config.registry["passwords"] = Passwords(
        time_cost=int(settings.get("myapp.argon2_time_cost", 3)),
        memory_kib=int(settings.get("myapp.argon2_memory_kib", 65536)),
        parallelism=int(settings.get("myapp.argon2_parallelism", 4)),
    )
    config.registry["tokens"] = Tokens(
        secret=settings["myapp.jwt_secret"],
        expiry_seconds=int(settings.get("myapp.jwt_expiry_seconds", 7 * 24 * 3600)),
    )
    config.add_request_method(token_identity, "token_identity", reify=True)
    config.add_request_method(authenticated_user, "user", reify=True)
    config.set_security_policy(SecurityPolicy())
    config.scan(__name__)

