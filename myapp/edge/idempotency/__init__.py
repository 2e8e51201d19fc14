"""Idempotent retries of POSTs that create something (IETF draft "The
Idempotency-Key HTTP Header Field").

A view accepts ``Idempotency-Key: "<key>"`` (a structured-field string; the
quotes may be left out) when its ``view_config`` says so:
``idempotency=Keyed(...)`` (``POST /api/users``, ``/api/articles`` and
``/api/articles/{slug}/comments``). The request it was first used with is
identified by its fingerprint (method, path and body bytes).

Whose key it is (its scope):

- a signed-in user's keys are theirs (``user:<id>``): the same key with
  another body answers 422, as the draft says;
- an anonymous request (registration) has no user to scope to, so its key
  is scoped by the fingerprint itself (``anonymous:<digest>``): only the very
  same body reaches the stored answer. Nobody can block someone else's
  registration by using their key first, nor learn from a 422 that a key was
  used: with another body, the same key is another key.

No live token is stored: where the answer carries one (``Keyed.token``), it
is stored without it, and a repeated request gets a new one from
``Keyed.renew_token`` (registration: as a login with the body's credentials, so
only whoever still knows the password gets a token).

How one keyed request runs: a view deriver, so inside the request's
transaction (pyramid_tm) and under the exception views, which answer any error
raised here (database down: the JSON 503 with Retry-After, as without a key):

1. Expired keys are purged (a bounded batch, skipping rows another
   transaction holds).
2. The key's row is looked up. Same fingerprint: its stored answer is
   repeated (status, body, Content-Type and ETag) and the view does not run.
   Another fingerprint: 422.
3. Otherwise a row claiming the key is inserted, the view runs, and a 2xx
   answer is stored in that row. An error answer is not stored: the commit
   veto aborts its transaction, claim included, nothing was written, and a
   retry with the key runs again. Any other answer (1xx, 3xx) commits without
   the claim, which is deleted: a claim is never left without its answer.

Concurrent duplicates: the second one's claim waits on the unique index for
the first one's transaction (PostgreSQL; SQLite runs one writer at a time).
If the first commits, the claim fails with an IntegrityError, pyramid_retry
runs the request again, and it finds and repeats the stored answer; if the
first failed, the second performs the request. So exactly one performs the
write; a wait longer than the lock budget answers 503 with Retry-After
(myapp.db.budgets).
"""

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from pyramid.response import Response
from sqlalchemy import select

from ...db.statements import purge_expired
from ..errors import APIError, error
from ..validation import bounded_body
from .models import IdempotencyKey

HEADER = "Idempotency-Key"

#: Visible ASCII but the quote and backslash (an sf-string's plain characters, no space),
#: in quotes (the draft's sf-string) or without.
KEY_CHARACTERS = r'[!#-\[\]-~]{1,255}'
KEY_FORMAT = re.compile(f'"{KEY_CHARACTERS}"|{KEY_CHARACTERS}')

MALFORMED_KEY = 'must be 1 to 255 visible ASCII characters but " and \\, in quotes or not'

#: The stored answer's headers: what describes the body; the others are per request.
STORED_HEADERS = ("Content-Type", "ETag")


@dataclass(frozen=True)
class Keyed:
    """The view option ``idempotency=``: this POST accepts an Idempotency-Key."""

    #: Keys scoped to the signed-in user (else to the request's fingerprint).
    per_user: bool = True
    #: Where the answer's JSON carries a live token, e.g. ``("user", "token")``.
    token: tuple = ()
    #: ``(request) -> token``: the token of a repeated answer, issued anew.
    renew_token: Callable | None = None


def parse_key(header):
    """The key of an ``Idempotency-Key`` header, or None when it is malformed."""
    value = header.strip()
    return value.strip('"') if KEY_FORMAT.fullmatch(value) else None


def fingerprint(request):
    digest = hashlib.sha256(f"{request.method} {request.path_info}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _token_holder(answer, path):
    """The mapping holding the token at ``path`` in ``answer``, and the token's name."""
    *parents, name = path
    for part in parents:
        answer = answer[part]
    return answer, name


def repeat(request, stored, keyed):
    """The stored answer, with a new token where the first one had one."""
    body = stored.body
    if keyed.token:
        answer = orjson.loads(body)
        holder, name = _token_holder(answer, keyed.token)
        holder[name] = keyed.renew_token(request)
        body = orjson.dumps(answer)
    return Response(body=body, status=stored.status, headerlist=json.loads(stored.headers))


def store(claim, response, keyed):
    claim.status = response.status_int
    claim.headers = json.dumps(
        [(name, response.headers[name]) for name in STORED_HEADERS if name in response.headers]
    )
    body = response.body
    if keyed.token:  # never a live token at rest
        answer = orjson.loads(body)
        holder, name = _token_holder(answer, keyed.token)
        holder[name] = None
        body = orjson.dumps(answer)
    claim.body = body


def _scope(request, keyed):
    """``user:<id>``, ``anonymous:<fingerprint>``, or None when the user's token is missing or bad."""
    if not keyed.per_user:
        return "anonymous:" + fingerprint(request)[:48]
    try:
        user = request.user
    except APIError:
        return None  # a bad token: the view answers 401
    return f"user:{user.id}" if user is not None else None


def _keyed(request, view, key, scope, keyed):
    dbsession = request.dbsession
    now = int(time.time())
    purge_expired(dbsession, IdempotencyKey, IdempotencyKey.id, IdempotencyKey.expires_at, now)
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
            raise error(422, HEADER, "was already used with another request")
        return repeat(request, stored, keyed)
    lifetime = request.registry.app_settings.idempotency_key_lifetime
    claim = IdempotencyKey(
        scope=scope, key=key, fingerprint=request_print, expires_at=now + lifetime
    )
    dbsession.add(claim)
    dbsession.flush()  # a concurrent duplicate waits here (see the module's docstring)
    response = view()
    if 200 <= response.status_int < 300:
        store(claim, response, keyed)
    elif response.status_int < 400:
        dbsession.delete(claim)  # commits (no error) with nothing to repeat: no claim
    dbsession.flush()
    return response


def idempotent_view(view, info):
    """The view deriver: keyed requests to a view with ``idempotency=Keyed(...)``."""
    keyed = info.options.get("idempotency")
    if keyed is None:
        return view

    def idempotent(context, request):
        header = request.headers.get(HEADER)
        if header is None:
            return view(context, request)
        if not bounded_body(request, request.registry.app_settings.max_body_bytes):
            return view(context, request)  # 413 from the view: nothing to store
        scope = _scope(request, keyed)
        if scope is None:
            return view(context, request)  # 401 from the view
        key = parse_key(header)
        if key is None:
            raise error(400, HEADER, MALFORMED_KEY)
        return _keyed(request, lambda: view(context, request), key, scope, keyed)

    return idempotent


idempotent_view.options = ("idempotency",)



def includeme(config):
    # Inside the view's own steps: after its permission check, around the
    # conditional step (so a stored answer keeps its tag), outside rendering.
    config.add_view_deriver(idempotent_view, "idempotency")
