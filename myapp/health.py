"""Health that a load balancer can trust.

- ``GET /api/health/live``, **liveness**: the process answers HTTP. It touches
  no database, no session and no pool, and admission control lets it through
  (myapp.backpressure), so it answers within a second whatever the load and
  whatever the database does. Restart the instance when it fails.
- ``GET /api/health/ready``, **readiness**: can this instance serve requests
  now? ``SELECT 1`` on an engine of its own (one connection, one spare) with
  short budgets (``myapp.health.timeout``), so neither a frozen database nor an
  exhausted request pool can make it hang: 503 JSON when the database does not
  answer in time, or when the instance is saturated. Stop routing to the
  instance while it fails; do not restart it.
- ``GET /api/health``: the readiness check, at its historical address.
"""

from pyramid.view import view_config
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .db import get_request_engine
from .db_timeouts import timeout_settings
from .edge.errors import error

#: Seconds the readiness check may take (connecting included: libpq's minimum is 2).
DEFAULT_TIMEOUT = 2


@view_config(route_name="health_live", request_method="GET", renderer="json")
def live(request):
    return {"status": "ok"}


@view_config(route_name="health", request_method="GET", renderer="json")
@view_config(route_name="health_ready", request_method="GET", renderer="json")
def ready(request):
    try:
        with request.registry["health_engine"].connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise error(503, "database", "unavailable", {"Retry-After": "1"}) from exc
    return {"status": "ok"}


def health_engine(settings):
    """A tiny engine of its own, every wait bounded by ``myapp.health.timeout``."""
    timeout = float(settings.get("myapp.health.timeout", DEFAULT_TIMEOUT))
    budgets, via = timeout_settings(settings)
    budgets.update(
        connect_timeout=timeout,
        statement_timeout=timeout / 2,
        lock_timeout=timeout / 2,
        request_timeout=timeout,
    )
    tiny_pool = {
        "sqlalchemy.pool_size": "1",
        "sqlalchemy.max_overflow": "1",
        "sqlalchemy.pool_timeout": str(max(1, round(timeout / 2))),
        # The check is itself a ping; a failed one discards the connection.
        "sqlalchemy.pool_pre_ping": False,  # a bool: SQLAlchemy does not parse this one
    }
    return get_request_engine({**settings, **tiny_pool}, budgets, via)


def includeme(config):
    engine = health_engine(config.get_settings())
    config.registry["health_engine"] = engine
    config.registry.setdefault("engines", []).append(engine)
    config.add_route("health", "/health")
    config.add_route("health_live", "/health/live")
    config.add_route("health_ready", "/health/ready")
    config.scan(__name__)
