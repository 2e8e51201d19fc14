#!/usr/bin/env bash
# Install a Debian package unless its command is there already.
#   scripts/apt-install.sh <command or absolute path> <package> [what to say while installing]
# Idempotent. Needs root (or sudo). Used by install-browser.sh and install-wrk.sh.
set -euo pipefail

COMMAND=$1 PACKAGE=$2 NOTE=${3:-}
NAME=$(basename "$0" .sh)

if command -v "$COMMAND" >/dev/null 2>&1; then
  echo "$NAME: $(command -v "$COMMAND") is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "$NAME: installing $PACKAGE needs root (or sudo)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "$NAME: installing Debian's $PACKAGE${NOTE:+ ($NOTE)}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null

if ! command -v "$COMMAND" >/dev/null 2>&1; then
  echo "$NAME: $COMMAND is still missing after apt-get install $PACKAGE" >&2
  exit 1
fi
echo "$NAME: installed $(command -v "$COMMAND")"
