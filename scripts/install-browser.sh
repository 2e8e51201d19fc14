#!/usr/bin/env bash
# Install Debian's Chromium for tests/test_docs_browser.py, unless it is there.
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (or sudo).
# Playwright's own browser downloads are never used: the test drives this one.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-browser: $CHROMIUM is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-browser: installing chromium needs root (or sudo)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing Debian's chromium (about 120 MB to download)"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: $CHROMIUM is still missing after apt-get install" >&2
  exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
