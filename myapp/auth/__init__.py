"""Who a request is and what it may do.

- ``passwords``: Argon2id hashes (``registry["passwords"]``).
- ``tokens``: signed, expiring JWTs (``registry["tokens"]``) and
  ``request.token_claims``, what the presented token claims.
- ``claims``: ``request.claimed_user_id``, the user a valid token names,
  without a database lookup (replica choice, the access log).
- ``policy``: the security policy; views name a permission, unknown ones are denied.
- ``throttle``: the login throttle (``registry["login_throttle"]``).

The user's row, and with it revocation, is the users domain's:
``request.user`` (myapp.users.current). Nothing here imports a domain.

Settings (registry.app_settings, myapp.settings): ``jwt_secret``,
``jwt_expiry_seconds``, ``argon2_*``, ``login_failures_per_*``,
``login_throttle_window_seconds``.
"""

from .claims import claimed_user_id
from .passwords import Passwords
from .policy import SecurityPolicy
from .tokens import Tokens, token_claims


def includeme(config):
    settings = config.registry.app_settings
    config.registry["passwords"] = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    config.registry["tokens"] = Tokens(settings.jwt_secret, settings.jwt_expiry_seconds)
    config.add_request_method(token_claims, "token_claims", reify=True)
    config.add_request_method(claimed_user_id, "claimed_user_id", reify=True)
    config.set_security_policy(SecurityPolicy())
    config.scan(".policy")
    config.include(".throttle")
