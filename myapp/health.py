"""``GET /api/health``: is the application up and does its database answer?"""

from pyramid.view import view_config
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .errors import error


@view_config(route_name="health", request_method="GET", renderer="json")
def health(request):
    try:
        request.dbsession.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise error(503, "database", "unavailable") from exc
    return {"status": "ok"}


def includeme(config):
    config.add_route("health", "/health")
    config.scan(__name__)
