"""Cross-origin requests, so that browser frontends on another origin can use the API.

``myapp.cors_allowed_origins`` lists the allowed origins (space or newline
separated), or ``*`` for any (development). A preflight ``OPTIONS`` request
from an allowed origin, for a method its path's route serves, is answered here
with 204 and that route's methods (myapp.edge.routes, read from the views once
at start-up). A preflight for a path no route matches, or a method the route
does not serve, gets the API's own answer instead (404, or 405 with ``Allow``):
not a 2xx and no ``Access-Control-Allow-Methods``, so the browser never sends
a request that could not be served. Every other response to an allowed origin
carries ``Access-Control-Allow-Origin``. Tokens travel in the Authorization
header, not cookies, so credentials are not enabled.
"""

from pyramid.exceptions import URLDecodeError
from pyramid.interfaces import IRoutesMapper
from pyramid.response import Response

from .routes import route_methods

# The conditional-request and idempotency headers too (myapp.edge.conditional,
# myapp.edge.idempotency): none of them is CORS-safelisted, and a browser frontend
# reads a response header beyond the safelisted few only when it is exposed: the
# ETag to revalidate, Retry-After to wait after a 429 or 503, the request id to
# quote in a bug report.
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key"
EXPOSED_HEADERS = "ETag, Retry-After, X-Request-ID"
MAX_AGE = "86400"


def served_methods(request, mapper):
    """The methods of the route ``request``'s path matches; () when none matches.

    The router has not run yet (this tween is above it): ask the routes mapper
    as the router will, once, and only for a preflight.
    """
    try:
        route = mapper(request)["route"]
    except URLDecodeError:  # not UTF-8: the router's answer (400) says so
        return ()
    return route_methods(request.registry).get(route.name, ()) if route else ()


def cors_tween_factory(handler, registry):
    origins = frozenset(registry.app_settings.cors_allowed_origins)
    mapper = registry.getUtility(IRoutesMapper)

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
        methods = served_methods(request, mapper) if is_preflight and allowed else ()
        if request.headers.get("Access-Control-Request-Method") in methods:
            response = Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
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

