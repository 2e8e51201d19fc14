#!/usr/bin/env bash
# Install Debian's PgBouncer for the topology tests (tests/live/test_topology.py),
# unless it is there. Idempotent: does nothing when /usr/sbin/pgbouncer exists.
# Needs root (or sudo). The package's own service is left stopped and disabled:
# the tests start PgBouncers of their own, on free ports, in temporary folders.
set -euo pipefail

PGBOUNCER=/usr/sbin/pgbouncer

if [ -x "$PGBOUNCER" ]; then
  echo "install-pgbouncer: $PGBOUNCER is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-pgbouncer: installing pgbouncer needs root (or sudo)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# No service may start during the install (there is no systemd in CI containers,
# and the package's default service would listen on 6432).
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod +x "$POLICY"
  ADDED_POLICY=1
fi
trap '[ -n "$ADDED_POLICY" ] && "${SUDO[@]}" rm -f "$POLICY"' EXIT

echo "install-pgbouncer: installing Debian's pgbouncer"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null

if [ ! -x "$PGBOUNCER" ]; then
  echo "install-pgbouncer: $PGBOUNCER is still missing after apt-get install" >&2
  exit 1
fi
echo "install-pgbouncer: installed $("$PGBOUNCER" --version 2>/dev/null | head -1)"
