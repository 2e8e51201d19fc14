"""Health that a load balancer can trust.

- ``GET /api/health/live``, **liveness**: the process answers HTTP. It touches
  no database, no session and no pool, and admission never queues it
  (myapp.edge.admission), so it answers within a second whatever the load and
  whatever the database does. Restart the instance when it fails.
- ``GET /api/health/ready``, **readiness**: should *this instance* get traffic?
  Yes once it has started and warmed up (a gunicorn worker opens its first
  database connection before it accepts any: myapp.server), until it drains
  (its worker was told to stop: 503 ``{"errors": {"server": ["draining"]}}``).
  The shared database's state is *not* a reason: when it blips every instance
  would fail at once and a load balancer would be left with none, although
  each instance answers its clients a quick JSON 503 and recovers by itself.
  The answer reports what this process last saw of the database instead
  (``"database": "ok"``, ``"unavailable"`` or ``"unknown"``), without waiting
  on it, as does the ``myapp_database_available`` metric (docs/operations.md).
- ``GET /api/health``: readiness, at its historical address.
"""

import logging
import threading

from pyramid.view import view_config
from sqlalchemy.exc import SQLAlchemyError

from .edge.errors import error
from .observability.metrics import database_available

log = logging.getLogger(__name__)

#: Set when this process was told to stop: it finishes its requests, takes no new ones.
DRAINING = threading.Event()
DATABASE_STATES = {None: "unknown", True: "ok", False: "unavailable"}


@view_config(route_name="health_live", request_method="GET", renderer="json")
def live(request):
    return {"status": "ok"}


@view_config(route_name="health", request_method="GET", renderer="json")
@view_config(route_name="health_ready", request_method="GET", renderer="json")
def ready(request):
    if DRAINING.is_set():
        raise error(503, "server", "draining", {"Retry-After": "1"})
    return {"status": "ok", "database": DATABASE_STATES[database_available()]}


def warm_up(registry):
    """Open one connection of the request pool before serving (bounded by connect_timeout).

    The first requests then find a connection ready; a database that is down
    now is no reason not to start (requests answer 503 until it is back).
    """
    engine = registry["engines"].primary
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        log.warning("warm-up could not connect to the database: %s", exc.__class__.__name__)


def includeme(config):
    config.add_route("health", "/health")
    config.add_route("health_live", "/health/live")
    config.add_route("health_ready", "/health/ready")
    config.scan(__name__)
