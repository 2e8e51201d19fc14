"""Schemathesis hooks: the signed-in fuzz run's token, renewed when revoked.

The fuzzer sends generated ``PUT /api/user`` bodies, new passwords included,
and a password change revokes every earlier token (myapp.security). With a
fixed ``Authorization`` header every later signed-in request would answer
401. Here the token comes from an account of the fuzzer's own, and a new
account is registered whenever a request answers 401 (schemathesis then
refetches and replays: ``retry_on`` defaults to 401).

Loaded by scripts/live_checks.py through ``SCHEMATHESIS_HOOKS``; the server's
address is in ``FUZZ_BASE_URL``.
"""

import json
import os
import urllib.request
import uuid

import schemathesis


def sign_up(base):
    """Register a new user of the fuzzer's own; its token."""
    name = f"fuzzer{uuid.uuid4().hex[:8]}"
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "fuzz-password"}}
    request = urllib.request.Request(
        f"{base}/api/users", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["user"]["token"]


@schemathesis.auth()
class FuzzerAccount:
    def get(self, case, context):
        return sign_up(os.environ["FUZZ_BASE_URL"])

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}
