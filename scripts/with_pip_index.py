"""Run a command (``uv pip compile``) with the package index pip is configured to use.

uv reads its own settings (``UV_INDEX_URL``, ``UV_EXTRA_INDEX_URL``,
``UV_FIND_LINKS``, uv.toml) but not pip's. A machine behind a mirror usually
says so to pip only (pip.conf, ``PIP_INDEX_URL``...), so each of these that
is not set for uv is handed on from ``pip config``: ``make lock`` then
resolves from wherever ``pip install`` would, and no index address is
written in the repository. With nothing configured, uv's own default applies.

Usage: python scripts/with_pip_index.py COMMAND [ARG...]
"""

import os
import subprocess
import sys

#: uv's variable, pip's option, and how uv separates several values.
HANDED_ON = (
    ("UV_INDEX_URL", "index-url", " "),
    ("UV_EXTRA_INDEX_URL", "extra-index-url", " "),
    ("UV_FIND_LINKS", "find-links", ","),
)
#: Where pip looks, first match wins: PIP_* variables, then the [install] and [global] sections.
PIP_SCOPES = (":env:", "install", "global")


def pip_option(name):
    """The value pip is configured with for ``name``, or None."""
    for scope in PIP_SCOPES:
        found = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", f"{scope}.{name}"],
            capture_output=True, text=True,
        )
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    return None


def uv_environment(environ):
    env = dict(environ)
    handed_on = []
    for variable, option, separator in HANDED_ON:
        if env.get(variable):
            continue  # set for uv: uv's own configuration wins
        value = pip_option(option)
        if value:
            env[variable] = separator.join(value.split())
            handed_on.append(variable)
    if "UV_EXTRA_INDEX_URL" in handed_on and not env.get("UV_INDEX_STRATEGY"):
        # pip picks the best version across all its indexes; uv by default
        # stops at the first index that has the package at all.
        env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
        handed_on.append("UV_INDEX_STRATEGY")
    if handed_on:
        print("from pip's configuration: " + ", ".join(handed_on), file=sys.stderr)
    return env


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    os.execvpe(sys.argv[1], sys.argv[1:], uv_environment(os.environ))
