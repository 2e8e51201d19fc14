#!/usr/bin/env bash
# Install Debian's nginx, the buffering reverse proxy of `make production`
# (scripts/production.py, deploy/nginx.conf), unless it is there.
# Idempotent; needs root (or sudo). The package's own service is not started:
# `make production` and the real-server tests run nginx processes of their own,
# with their own configuration, in temporary folders.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" nginx /usr/sbin/nginx
