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

import argon2
import jwt
from pyramid.security import Allowed, Denied
from pyramid.exceptions import ConfigurationError
from pyramid.view import forbidden_view_config

from .errors import error
from .models import MAX_ID, utcnow

JWT_ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
AUTH_SCHEMES = ("token", "bearer")


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


class Tokens:
    """HS256 JWTs carrying the user id, its token version, and issue and expiry times.

    ``ver`` is the user's ``token_version`` when the token was issued; a
    password change increments it, so every earlier token stops working. A
    counter, not the issue time: two tokens issued within one second are told
    apart. Tokens from before versions existed carry none and count as 0.
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
            "iat": now,
            "exp": now + self.expiry,
        }
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM)

    def identity(self, token):
        """(user id, token version) of a valid token; None when it is invalid in any way."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["sub", "exp", "iat"]},
            )
            user_id = int(claims["sub"])
            version = claims.get("ver", 0)
        except (jwt.InvalidTokenError, ValueError):
            return None
        if not (0 < user_id <= MAX_ID) or type(version) is not int:
            return None
        return user_id, version


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


def authenticated_user(request):
    """``request.user``: the User of a valid, current token, or None without a token.

    A token issued before the user's latest password change is invalid.
    """
    from .users.models import User

    token = presented_token(request)
    if token is None:
        return None
    identity = request.registry["tokens"].identity(token) if token else None
    user = request.dbsession.get(User, identity[0]) if identity is not None else None
    if user is None or user.token_version != identity[1]:
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
    config.add_request_method(authenticated_user, "user", reify=True)
    config.set_security_policy(SecurityPolicy())
    config.scan(__name__)

