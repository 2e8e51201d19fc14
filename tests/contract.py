"""Contract checks: every response the tests see must match the OpenAPI document.

``ContractTestApp`` is a WebTest ``TestApp`` that validates each response
(status, headers, JSON body) against ``/api/openapi.json`` with openapi-core.
Requests are not validated: the tests send bad input on purpose. A request to
a path or method the document does not know may only answer 404 or 405,
except HTTP-level methods: CORS preflights (OPTIONS) and HEAD.
"""

import webtest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from myapp.openapi.document import build_document
from myapp.edge.paths import without_trailing_slash

#: Methods that HTTP itself answers for any documented path.
HTTP_LEVEL_METHODS = ("OPTIONS", "HEAD")

#: The documentation itself is not part of the API it documents.
DOCUMENTATION_PATHS = ("/api/docs", "/api/openapi.json")

_openapi = None


def openapi():
    global _openapi
    if _openapi is None:
        _openapi = OpenAPI.from_dict(build_document())
    return _openapi


class WebObRequest:
    """A WebOb request as openapi-core reads it."""

    def __init__(self, request):
        self.host_url = request.host_url
        # The API answers with one trailing slash as without (myapp.edge.paths).
        self.path = without_trailing_slash(request.path)
        self.method = request.method.lower()
        self.body = request.body
        self.content_type = request.content_type or "application/octet-stream"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.GET.items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(list(request.cookies.items())),
        )


class WebObResponse:
    """A WebTest response as openapi-core reads it."""

    def __init__(self, response):
        self.status_code = response.status_int
        self.content_type = response.content_type or ""
        self.headers = Headers(list(response.headers.items()))
        self.data = response.body


def check_response(request, response):
    """Raise AssertionError when ``response`` is not what the document promises."""
    try:
        described = WebObRequest(request)
    except UnicodeDecodeError:
        # A URL that is not UTF-8 is outside what any document describes:
        # it must still be refused with a JSON error.
        assert 400 <= response.status_int < 500 and "errors" in response.json, response
        return
    try:
        openapi().validate_response(described, WebObResponse(response))
    except (PathNotFound, OperationNotFound):
        assert response.status_int in (404, 405) or request.method in HTTP_LEVEL_METHODS, (
            f"{request.method} {request.path} is not in the OpenAPI document "
            f"but answered {response.status_int}"
        )
    except Exception as exc:  # openapi-core's validation errors
        details = "; ".join(str(e) for e in getattr(exc, "schema_errors", ()) or [exc])
        raise AssertionError(
            f"{request.method} {request.path_qs} -> {response.status}: "
            f"response does not match the OpenAPI document: {details}\n{response.body[:500]!r}"
        ) from exc


class ContractTestApp(webtest.TestApp):
    def do_request(self, req, status=None, expect_errors=None):
        response = super().do_request(req, status=status, expect_errors=expect_errors)
        if not req.environ.get("PATH_INFO", "").startswith(DOCUMENTATION_PATHS):
            check_response(response.request, response)
        return response
