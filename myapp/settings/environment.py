"""Values from the environment, read before the settings are parsed.

A value written ``env:NAME`` in an ini file is replaced by the environment
variable NAME: production.ini keeps its database URL and every secret that way,
so none of them is written in a file, and the application refuses to start when
such a variable is unset or empty. A value written ``env-optional:NAME`` is
optional: the setting's default when NAME is unset or empty (e.g. the read
replicas, MYAPP_REPLICA_URLS).
"""

import os

from pyramid.exceptions import ConfigurationError

ENV_PREFIX = "env:"
OPTIONAL_ENV_PREFIX = "env-optional:"


def resolve_settings(settings, environ=None):
    """A copy of ``settings`` with every ``env:NAME`` value read from the environment."""
    environ = os.environ if environ is None else environ
    resolved = dict(settings)
    missing = []
    for key, value in settings.items():
        if isinstance(value, str) and value.startswith(OPTIONAL_ENV_PREFIX):
            resolved[key] = environ.get(value[len(OPTIONAL_ENV_PREFIX):].strip(), "")
        elif isinstance(value, str) and value.startswith(ENV_PREFIX):
            name = value[len(ENV_PREFIX):].strip()
            if environ.get(name):
                resolved[key] = environ[name]
            else:
                missing.append(f"{key} (from ${name})")
    if missing:
        raise ConfigurationError(
            "refusing to start: these settings need environment variables that are "
            "unset or empty: " + ", ".join(sorted(missing))
        )
    return resolved
