"""Health that a load balancer can trust.

- ``GET /api/health/live``, **liveness**: the process answers HTTP. It touches
  no database, no session and no pool, and admission control lets it through
  (myapp.edge.admission), so it answers within a second whatever the load and
  whatever the database does. Restart the instance when it fails.
- ``GET /api/health/ready``, **readiness**: can this instance serve requests
  now? ``SELECT 1`` on an engine of its own (one connection, one spare) with
  short budgets (``myapp.health.timeout``; myapp.db.engines builds it), so neither a frozen database nor an
  exhausted request pool can make it hang: 503 JSON when the database does not
  answer in time, or when the instance is saturated. Stop routing to the
  instance while it fails; do not restart it.
- ``GET /api/health``: the readiness check, at its historical address.
"""

from pyramid.view import view_config
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .edge.errors import error


@view_config(route_name="health_live", request_method="GET", renderer="json")
def live(request):
    return {"status": "ok"}


@view_config(route_name="health", request_method="GET", renderer="json")
@view_config(route_name="health_ready", request_method="GET", renderer="json")
def ready(request):
    try:
        with request.registry["engines"].health.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise error(503, "database", "unavailable", {"Retry-After": "1"}) from exc
    return {"status": "ok"}


def includeme(config):
    config.add_route("health", "/health")
    config.add_route("health_live", "/health/live")
    config.add_route("health_ready", "/health/ready")
    config.scan(__name__)
