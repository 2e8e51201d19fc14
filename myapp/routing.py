"""Route pattern pieces shared by the API's routes."""

#: One path segment: no slash, and no NUL, which no stored name can contain
#: (PostgreSQL text cannot hold it), so such a path matches no route: 404.
SEGMENT = r"[^/\x00]+"


def param(name):
    """``{name}`` matching one segment, e.g. ``/profiles/`` + ``param("username")``."""
    return "{%s:%s}" % (name, SEGMENT)
