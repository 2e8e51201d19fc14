"""Cross-origin requests, so that browser frontends on another origin can use the API.

``myapp.cors_allowed_origins`` lists the allowed origins (space or newline
separated), or ``*`` for any (development). A preflight ``OPTIONS`` request
from an allowed origin is answered here with 204; every other response to an
allowed origin carries ``Access-Control-Allow-Origin``. Tokens travel in the
Authorization header, not cookies, so credentials are not enabled.
"""

from pyramid.response import Response

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
# The conditional-request and idempotency headers too (myapp.edge.conditional,
# myapp.edge.idempotency): none of them is CORS-safelisted, and a browser frontend
# reads a response header beyond the safelisted few only when it is exposed: the
# ETag to revalidate, Retry-After to wait after a 429 or 503, the request id to
# quote in a bug report.
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key"
EXPOSED_HEADERS = "ETag, Retry-After, X-Request-ID"
MAX_AGE = "86400"


def cors_tween_factory(handler, registry):
    origins = frozenset(registry.app_settings.cors_allowed_origins)

    def allow_origin(origin):
        if "*" in origins:
            return "*"
        return origin if origin in origins else None

    def cors_tween(request):
        origin = request.headers.get("Origin")
        allowed = allow_origin(origin) if origin else None
        is_preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if is_preflight and allowed:
            response = Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = MAX_AGE
        else:
            response = handler(request)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
            # Every answer: the 401, 429 and 503 carry Retry-After and the request id too.
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if origins and "*" not in origins:
            # The answer depends on the Origin whenever origins are restricted,
            # also when this one was refused or absent: a cache must not give
            # one origin's answer (with or without Allow-Origin) to another.
            response.vary = tuple(response.vary or ()) + ("Origin",)
        return response

    return cors_tween

