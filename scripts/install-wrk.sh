#!/usr/bin/env bash
# Install Debian's wrk (the HTTP load generator of `make bench`), unless it is there.
# Idempotent: does nothing when wrk is on the PATH. Needs root (or sudo).
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  echo "install-wrk: $(command -v wrk) is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-wrk: installing wrk needs root (or sudo)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Only when the package is unknown (a fresh machine): the lists are otherwise reused.
if ! apt-cache show wrk >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -qq
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends wrk >/dev/null

if ! command -v wrk >/dev/null 2>&1; then
  echo "install-wrk: wrk is still missing after apt-get install" >&2
  exit 1
fi
echo "install-wrk: installed $(command -v wrk)"
