"""The methods each route serves, read once from Pyramid's introspector at start-up.

A 405's ``Allow`` header (myapp.edge.errors) and a CORS preflight's
``Access-Control-Allow-Methods`` (myapp.edge.cors) both answer from it, so
neither can name a method the route does not serve.
"""

from collections.abc import Mapping

from pyramid.events import ApplicationCreated


def view_methods(registry):
    """Route name → the set of methods its views accept (from Pyramid's introspector).

    A view that names no method accepts every one; it adds nothing to the set.
    """
    found = {}
    for item in registry.introspector.get_category("views"):
        view = item["introspectable"]
        methods = view["request_methods"] or ()
        methods = (methods,) if isinstance(methods, str) else methods
        if view["route_name"]:
            found.setdefault(view["route_name"], set()).update(methods)
    return found


def collect_route_methods(event):
    """When the app is made, every view is known: a GET view answers HEAD too."""
    registry = event.app.registry
    registry.route_methods = {
        name: tuple(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
        for name, methods in view_methods(registry).items()
    }


def route_methods(registry) -> Mapping[str, tuple[str, ...]]:
    """Route name → the methods its views serve, sorted; empty when they name none."""
    return registry.route_methods


def includeme(config):
    config.add_subscriber(collect_route_methods, ApplicationCreated)
