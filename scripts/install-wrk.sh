#!/usr/bin/env bash
# Install Debian's wrk (the HTTP load generator of `make bench`), unless it is there.
# Idempotent: does nothing when wrk is on the PATH. Needs root (or sudo).
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" wrk wrk
