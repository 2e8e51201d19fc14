#!/usr/bin/env bash
# apt-install.sh PACKAGE BINARY: install Debian's PACKAGE unless BINARY is already there.
# Idempotent; needs root (or sudo). No service of the package is started during the
# install (a policy-rc.d for the duration): the tests start the programs they need.
set -euo pipefail
package=${1:?usage: apt-install.sh PACKAGE BINARY}
binary=${2:?usage: apt-install.sh PACKAGE BINARY}
name=$(basename "$0" .sh)

if [ -x "$binary" ]; then
  echo "$name: $binary is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "$name: installing $package needs root (or sudo)" >&2
  exit 1
fi

POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod +x "$POLICY"
  trap '"${SUDO[@]}" rm -f "$POLICY"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
echo "$name: installing Debian's $package"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null

if [ ! -x "$binary" ]; then
  echo "$name: $binary is still missing after apt-get install" >&2
  exit 1
fi
echo "$name: installed $("$binary" --version 2>/dev/null | head -1 || echo "$package")"
