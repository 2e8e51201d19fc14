"""Who a request is and what it may do.

- ``passwords``: Argon2id hashes (``get_auth(registry).passwords``).
- ``tokens``: signed, expiring JWTs (``get_auth(registry).tokens``) and
  ``request.token_claims``, what the presented token claims.
- ``claims``: ``request.claimed_user_id``, the user a valid token names,
  without a database lookup (replica choice, the access log).
- ``policy``: the security policy; views name a permission, unknown ones are denied.
- ``throttle``: the login throttle (``get_auth(registry).login_throttle``).

The user's row, and with it revocation, is the users domain's:
``request.user`` (myapp.users.current). Nothing here imports a domain.

Settings (registry.app_settings, myapp.settings): ``jwt_secret``,
``jwt_expiry_seconds``, ``argon2_*``, ``login_failures_per_*``,
``login_throttle_window_seconds``.
"""

from dataclasses import dataclass

from .claims import claimed_user_id
from .passwords import Passwords
from .policy import SecurityPolicy
from .throttle import LoginThrottle
from .tokens import Tokens, token_claims


@dataclass(frozen=True)
class Auth:
    """What this package builds once at start-up, kept as ``registry.auth``.

    One typed attribute rather than a string key of the registry for each:
    a misspelt name fails where it is written, and a reader (or a type
    checker) sees what each one is.
    """

    passwords: Passwords
    tokens: Tokens
    login_throttle: LoginThrottle


def get_auth(registry) -> Auth:
    """The application's passwords, tokens and login throttle."""
    return registry.auth


def includeme(config):
    registry = config.registry
    settings = registry.app_settings
    registry.auth = Auth(
        passwords=Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        tokens=Tokens(settings.jwt_secret, settings.jwt_expiry_seconds),
        login_throttle=LoginThrottle(
            session_factory=registry["dbsession_factory"],
            bind=registry["dbsession_write_bind"],
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window_seconds=settings.login_throttle_window_seconds,
        ),
    )
    config.add_request_method(token_claims, "token_claims", reify=True)
    config.add_request_method(claimed_user_id, "claimed_user_id", reify=True)
    config.set_security_policy(SecurityPolicy())
    config.scan(".policy")
