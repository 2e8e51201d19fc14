"""Every error is JSON in the spec's shape: ``{"errors": {"<field>": ["<message>"]}}``.

Application code raises ``APIError`` (or one of its helpers); the framework's
own errors (unknown route, wrong method, server error, database down) get
exception views here, so no response is ever HTML. An exception view's
response is a 4xx/5xx, so the transaction manager aborts the request.
"""

import logging

import orjson
from pyramid.httpexceptions import HTTPException, HTTPNotFound
from pyramid.response import Response
from pyramid.view import exception_view_config
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..db.transactions import attempt_label, failure_reason, will_be_replayed
from ..observability.metrics import note_database
from .routes import route_methods

log = logging.getLogger(__name__)


class APIError(Exception):
    """An error answer: an HTTP status and the spec's ``errors`` mapping."""

    def __init__(self, status, errors, headers=None):
        super().__init__(status, errors)
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def error(status, field, message, headers=None):
    """``APIError`` with one message for one field."""
    return APIError(status, {field: [message]}, headers)


def not_found(resource):
    return error(404, resource, "not found")


def forbidden(resource):
    return error(403, resource, "forbidden")


def error_body(errors):
    """The one error envelope, ``{"errors": {"<field>": ["<message>", ...]}}``.

    Every error answer is built by it: the exception views, the tweens
    (``error_response``), the security policy's 401/403 and gunicorn's own
    errors (myapp.server).
    """
    return {"errors": errors}


def error_response(status, field, message, headers=None):
    """A JSON error as a finished Response, for code that runs outside views (tweens)."""
    response = Response(orjson.dumps(error_body({field: [message]})), status=status,
                        content_type="application/json")
    response.headers.update(headers or {})
    return response


def _respond(request, status, errors, headers=None):
    response = request.response
    response.status_int = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return error_body(errors)


@exception_view_config(APIError, renderer="json")
def api_error_view(exc, request):
    return _respond(request, exc.status, exc.errors, exc.headers)


@exception_view_config(HTTPNotFound, renderer="json")
def not_found_view(exc, request):
    allowed = allowed_methods(request)
    if allowed and request.method not in allowed:
        # The path exists but no view accepts this method.
        return _respond(request, 405, {"method": ["not allowed"]}, {"Allow": ", ".join(allowed)})
    # No such path, or a view of the path found nothing (a missing static file).
    return _respond(request, 404, {"path": ["not found"]})


def allowed_methods(request):
    """The methods the matched route's views accept (with HEAD for GET); () without a route."""
    route = request.matched_route
    return route_methods(request.registry).get(route.name, ()) if route else ()


@exception_view_config(HTTPException, renderer="json")
def http_exception_view(exc, request):
    headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "location", "retry-after"}}
    reason = exc.title.lower() if exc.title else "error"
    return _respond(request, exc.code, {"request": [reason]}, headers)


@exception_view_config(IntegrityError, renderer="json")
def integrity_error_view(exc, request):
    # The client sees this answer only when the replays are used up: a
    # conflicting write that kept conflicting. Race-prone handlers check
    # first, so this is a fallback. Replayed attempts: myapp.db.transactions.
    if not will_be_replayed(request, exc):
        log.warning("conflict answered 409 (%s): %s", attempt_label(request), failure_reason(exc))
    return _respond(request, 409, {"request": ["conflicts with existing data"]})


@exception_view_config(PoolTimeoutError, renderer="json")
@exception_view_config(InterfaceError, renderer="json")
@exception_view_config(OperationalError, renderer="json")
def database_unavailable_view(exc, request):
    # Cannot connect, connection lost, pool exhausted, or a transient conflict
    # that kept conflicting after every replay: the client may try again.
    if not will_be_replayed(request, exc):
        log.error("database unavailable, answered 503 (%s): %s", attempt_label(request),
                  failure_reason(exc))
    note_database(False)
    return _respond(request, 503, {"database": ["unavailable"]}, {"Retry-After": "1"})


@exception_view_config(UnicodeDecodeError, renderer="json")
def undecodable_request_view(exc, request):
    # A path or query string that is not UTF-8 (Pyramid decodes them lazily).
    return _respond(request, 400, {"request": ["is not valid UTF-8"]})


@exception_view_config(Exception, renderer="json")
def server_error_view(exc, request):
    # The raw path: decoding request.path could fail again here.
    path = request.environ.get("PATH_INFO", "")
    if not will_be_replayed(request, exc):
        log.exception("unhandled error on %s %r", request.method, path)
    return _respond(request, 500, {"server": ["internal error"]})


def includeme(config):
    config.scan(__name__)
