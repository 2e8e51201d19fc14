"""Schemathesis hooks for ``make fuzz`` (SCHEMATHESIS_HOOKS, set by scripts/live_checks.py).

Idempotency keys: a client uses a new key per operation, and the fuzzer,
which cannot know that, draws the same few simple keys again and again for
different bodies. The server rightly answers such a reuse 422 and replays a
reused key's first answer (maybe of an article deleted since), which the
fuzzer would report as valid data refused or a created resource not found.
So every well-formed key is replaced by a fresh UUID before the request is
sent; malformed keys are sent as drawn (the server must refuse them: 400).
The key's rules themselves are tested in tests/edge/test_idempotency.py.
"""

import re
import uuid

import schemathesis

#: myapp.edge.idempotency.KEY_FORMAT (not imported: the hooks run in schemathesis' process).
WELL_FORMED_KEY = re.compile(r'"[!#-\[\]-~]{1,255}"|[!#-\[\]-~]{1,255}')


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and WELL_FORMED_KEY.fullmatch(key.strip()):
        case.headers["Idempotency-Key"] = f'"{uuid.uuid4()}"'
