#!/usr/bin/env bash
# Install Debian's wrk, the HTTP load generator of `make bench` (bench/) and its
# smoke test (tests/live/test_bench_smoke.py), unless it is there.
# Idempotent; needs root (or sudo).
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" wrk /usr/bin/wrk
