#!/usr/bin/env bash
# Install Debian's Chromium for tests/openapi/test_docs_browser.py, unless it is there
# (about 120 MB to download). Idempotent: does nothing when /usr/bin/chromium
# exists. Needs root (or sudo). Playwright's own browser downloads are never
# used: the test drives this one.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" chromium /usr/bin/chromium
