"""Security headers, added to every response in one place (a tween).

- ``X-Content-Type-Options: nosniff`` on every response: a browser never
  guesses another type than the one declared (JSON rendered as HTML).
- Caching headers, all here: ``Cache-Control: no-store`` on the answers of
  the routes that carry a token (register, login, ``/api/user``): no browser
  or proxy cache keeps one. Every other answer with an ``ETag``
  (myapp.edge.conditional) gets ``Cache-Control: no-cache``: a cache may keep it
  but must revalidate it (``If-None-Match``) before each use. Tagged answers
  depend on the viewer (``favorited``, ``following``): ``Vary: Authorization``.
- HTML pages (``/api/docs``) may not be framed by another site
  (``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``), against
  clickjacking.

A tween rather than a NewResponse subscriber: it also sees the answers of the
exception views and of the tweens below it (CORS preflights, pyramid_tm).
"""

#: Routes whose answers carry a token (myapp.users).
TOKEN_ROUTES = frozenset({"users", "login", "user"})

NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def security_headers_tween_factory(handler, registry):
    def security_headers_tween(request):
        response = handler(request)
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        route = request.matched_route
        if route is not None and route.name in TOKEN_ROUTES:
            headers["Cache-Control"] = "no-store"
        elif "ETag" in headers:
            headers["Cache-Control"] = "no-cache"
        if "ETag" in headers:
            response.vary = tuple(response.vary or ()) + ("Authorization",)
        if response.content_type == "text/html":
            headers.update(NO_FRAMING)
        return response

    return security_headers_tween

