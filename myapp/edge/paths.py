"""Route pattern pieces shared by the API's routes, and one trailing slash accepted."""

#: One path segment: no slash, and no NUL, which no stored name can contain
#: (PostgreSQL text cannot hold it), so such a path matches no route: 404.
SEGMENT = r"[^/\x00]+"


def param(name):
    """``{name}`` matching one segment, e.g. ``/profiles/`` + ``param("username")``."""
    return "{%s:%s}" % (name, SEGMENT)

#: Paths under this prefix accept one trailing slash (the API's routes).
API_PREFIX = "/api/"


def without_trailing_slash(path):
    """``/api/articles/`` → ``/api/articles``; any other path unchanged.

    One slash only: ``/api/articles//`` keeps one and matches nothing (404).
    """
    if path.startswith(API_PREFIX) and path.endswith("/") and len(path) > len(API_PREFIX):
        return path[:-1]
    return path


def trailing_slash_tween_factory(handler, registry):
    """Every API route answers with one trailing slash too, the same way.

    The path is rewritten before routing rather than redirected: a browser
    turns a redirected POST into a GET, and Conduit frontends POST to
    ``/api/articles/``. (The reference implementation's router does the same.)
    """

    def trailing_slash_tween(request):
        # The raw WSGI path: decoding it could fail (a non-UTF-8 path is a 400 later).
        environ = request.environ
        environ["PATH_INFO"] = without_trailing_slash(environ.get("PATH_INFO", ""))
        return handler(request)

    return trailing_slash_tween

