#!/usr/bin/env bash
# Install Debian's PgBouncer for the topology tests (tests/live/test_topology.py) and
# the conformance run through PgBouncer (scripts/live_checks.py), unless it is there.
# Idempotent; needs root (or sudo). The package's own service is not started: the
# tests run PgBouncers of their own, on free ports, in temporary folders.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" pgbouncer /usr/sbin/pgbouncer
