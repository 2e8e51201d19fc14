"""Tokens: signed, expiring JWTs, and what the request's token claims.

A request authenticates with ``Authorization: Token <jwt>`` (``Bearer`` is
accepted too). A token that is present but malformed, tampered with, expired
or signed with another algorithm (``alg: none`` included) answers 401
``{"errors": {"token": ["is invalid"]}}``, on every route that looks at it.

``request.token_claims`` is what the presented token claims (``TokenClaims``),
checked for signature and expiry only, decoded once per request. Revocation
needs the user's row: ``request.user`` (myapp.users.current) checks it.
"""

import datetime
import secrets
from typing import NamedTuple

import jwt

from ..edge.errors import error
from ..models import MAX_ID, utcnow

JWT_ALGORITHM = "HS256"
AUTH_SCHEMES = ("token", "bearer")
TOKEN_ID_BYTES = 12


class TokenClaims(NamedTuple):
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

    The secret's length is checked by the settings (myapp.settings).
    """

    def __init__(self, secret, expiry_seconds):
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

    def read(self, token):
        """The TokenClaims of a validly signed, unexpired token; None otherwise."""
        try:
            decoded = jwt.decode(
                token,
                self.secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["sub", "ver", "jti", "exp", "iat"]},
            )
            claims = TokenClaims(int(decoded["sub"]), decoded["ver"], decoded["jti"])
        except (jwt.InvalidTokenError, ValueError):
            return None
        if not (0 < claims.user_id <= MAX_ID) or type(claims.version) is not int:
            return None
        return claims if isinstance(claims.token_id, str) else None

    @staticmethod
    def is_current(claims, user):
        """Not revoked: issued since the user's last password change, or the token that made it."""
        return claims.version == user.token_version or claims.token_id == user.password_changed_by


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


def token_claims(request):
    """``request.token_claims``: the TokenClaims of the presented token, None
    without a token; 401 when it is malformed, tampered with or expired."""
    token = presented_token(request)
    if token is None:
        return None
    claims = request.registry.auth.tokens.read(token) if token else None  # myapp.auth.Auth
    if claims is None:
        raise invalid_token()
    return claims
