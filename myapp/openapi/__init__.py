"""The API contract: ``GET /api/openapi.json`` and interactive docs at ``GET /api/docs``.

The docs page is Swagger UI 5 from the ``openapi-ui-bundles`` package, served
from this application: no CDN, it works offline.
"""

import openapi_ui_bundles.swagger_ui
from pyramid.response import Response
from pyramid.view import view_config

from .document import build_document

SWAGGER_UI = str(openapi_ui_bundles.swagger_ui.static_path)

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Conduit API</title>
  <link rel="stylesheet" href="{static}swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{static}swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{url: "{spec}", dom_id: "#swagger-ui", deepLinking: true}});
  </script>
</body>
</html>
"""


@view_config(route_name="openapi", request_method="GET", renderer="json")
def openapi_document(request):
    return request.registry.openapi_document  # built once, at start-up


@view_config(route_name="docs", request_method="GET")
def docs(request):
    page = DOCS_PAGE.format(
        static=request.static_path(SWAGGER_UI + "/"), spec=request.route_path("openapi")
    )
    return Response(page, content_type="text/html", charset="utf-8")


def includeme(config):
    config.registry.openapi_document = build_document()
    config.add_route("openapi", "/openapi.json")
    config.add_route("docs", "/docs")
    config.add_static_view("docs/static", SWAGGER_UI)
    config.scan(".")
