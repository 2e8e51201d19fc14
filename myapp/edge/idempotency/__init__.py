"""Idempotent retries of POSTs that create something (IETF draft "The
Idempotency-Key HTTP Header Field").

``POST /api/users``, ``/api/articles`` and ``/api/articles/{slug}/comments``
accept ``Idempotency-Key: "<key>"`` (a structured-field string; the quotes may
be left out). The key is the client's: it is scoped to the authenticated user
(registration: to nobody), and the request it was first used with is
identified by its fingerprint (method, path and body bytes).

How one keyed request runs, in the request's own transaction (a tween under
pyramid_tm, so the key row commits or aborts with the effect):

1. Expired keys are purged (a bounded batch, skipping rows another
   transaction holds).
2. The key's row is looked up. Same fingerprint: its stored answer is
   replayed (status, body, Content-Type and ETag, byte for byte) and nothing
   else runs. Another fingerprint: 422.
3. Otherwise a row claiming the key is inserted, the request runs, and a 2xx
   answer is stored in that row. An error answer is not stored: the commit
   veto aborts its transaction, claim included, nothing was written, and a
   retry with the key runs again (it may succeed now).

Concurrent duplicates: the second one's claim waits on the unique index for
the first one's transaction (PostgreSQL; SQLite runs one writer at a time).
If the first commits, the claim fails with an IntegrityError, pyramid_retry
replays the request, and it finds and replays the stored answer; if the first
failed, the second performs the request. So exactly one performs the write and
the other waits and replays; a wait longer than the lock budget answers 503
with Retry-After (myapp.db.budgets).
"""

import hashlib
import json
import re
import time

from pyramid.interfaces import IRoutesMapper
from pyramid.response import Response
from sqlalchemy import delete, select

from ..errors import APIError, error_response
from ...db import mark_session_changed
from ..validation import DEFAULT_MAX_BODY_BYTES, bounded_body
from .models import IdempotencyKey

HEADER = "Idempotency-Key"

#: Route name → whether its requests are scoped to the authenticated user.
KEYED_ROUTES = {"users": False, "articles": True, "comments": True}

#: Visible ASCII but the quote and backslash (an sf-string's plain characters, no space),
#: in quotes (the draft's sf-string) or without.
KEY_CHARACTERS = r'[!#-\[\]-~]{1,255}'
KEY_FORMAT = re.compile(f'"{KEY_CHARACTERS}"|{KEY_CHARACTERS}')

MALFORMED_KEY = 'must be 1 to 255 visible ASCII characters but " and \\, in quotes or not'

#: Seconds a key and its answer are kept (``myapp.idempotency.key_lifetime``).
DEFAULT_KEY_LIFETIME = 24 * 3600

#: Expired rows deleted per keyed request, at most.
PURGE_BATCH = 100

#: The stored answer's headers: what describes the body; the others are per request.
STORED_HEADERS = ("Content-Type", "ETag")


def parse_key(header):
    """The key of an ``Idempotency-Key`` header, or None when it is malformed."""
    value = header.strip()
    return value.strip('"') if KEY_FORMAT.fullmatch(value) else None


def fingerprint(request):
    digest = hashlib.sha256(f"{request.method} {request.path_info}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def purge_expired(dbsession, now):
    """Delete up to PURGE_BATCH expired keys; rows locked by others are left for later."""
    expired = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.expires_at <= now)
        .order_by(IdempotencyKey.id)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    result = dbsession.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired.scalar_subquery())),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount:
        mark_session_changed(dbsession)  # a bulk delete, not a unit-of-work flush


def replay(stored):
    return Response(body=stored.body, status=stored.status, headerlist=json.loads(stored.headers))


def store(claim, response):
    claim.status = response.status_int
    claim.headers = json.dumps(
        [(name, response.headers[name]) for name in STORED_HEADERS if name in response.headers]
    )
    claim.body = response.body


def _scope(request, per_user):
    """``user:<id>``, ``anonymous``, or None when the request is not authenticated."""
    if not per_user:
        return "anonymous"
    try:
        user = request.user
    except APIError:
        return None  # a bad token: the view answers 401
    return f"user:{user.id}" if user is not None else None


def _keyed(request, handler, key, scope, lifetime):
    dbsession = request.dbsession
    now = int(time.time())
    purge_expired(dbsession, now)
    request_print = fingerprint(request)
    stored = dbsession.scalar(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )
    if stored is not None and stored.expires_at <= now:
        dbsession.delete(stored)
        dbsession.flush()
        stored = None
    if stored is not None:
        if stored.fingerprint != request_print:
            return error_response(422, HEADER, "was already used with another request")
        return replay(stored)
    claim = IdempotencyKey(
        scope=scope, key=key, fingerprint=request_print, expires_at=now + lifetime
    )
    dbsession.add(claim)
    dbsession.flush()  # a concurrent duplicate waits here (see the module's docstring)
    response = handler(request)
    if 200 <= response.status_int < 300:
        store(claim, response)
        dbsession.flush()
    return response


def idempotency_tween_factory(handler, registry):
    lifetime = registry["idempotency_key_lifetime"]
    routes = registry.getUtility(IRoutesMapper)

    def idempotency_tween(request):
        header = request.headers.get(HEADER)
        if header is None or request.method != "POST":
            return handler(request)
        # Routing happens below the tweens: match here, as the router will.
        route = routes(request)["route"]
        if route is None or route.name not in KEYED_ROUTES:
            return handler(request)
        limit = registry.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
        scope = _scope(request, KEYED_ROUTES[route.name])
        if scope is None or not bounded_body(request, limit):
            return handler(request)  # 401 or 413 from the view: nothing to store
        key = parse_key(header)
        if key is None:
            return error_response(400, HEADER, MALFORMED_KEY)
        return _keyed(request, handler, key, scope, lifetime)

    return idempotency_tween


def includeme(config):
    settings = config.get_settings()
    config.registry["idempotency_key_lifetime"] = int(
        settings.get("myapp.idempotency.key_lifetime", DEFAULT_KEY_LIFETIME)
    )
