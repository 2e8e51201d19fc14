"""myapp: the RealWorld "Conduit" JSON API on Pyramid."""

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from .settings import resolve_settings


def make_config(settings):
    """The application's Configurator, every part included, not yet committed.

    ``main`` turns it into the WSGI app; tests add their own views first.
    """
    config = Configurator(settings=resolve_settings(settings))
    config.include(".settings")  # first: every other part reads registry.app_settings
    config.include(".renderers")
    config.include(".db")
    config.include(".auth")  # before observability: the access log reads claimed_user_id
    config.include(".observability")
    config.include(".edge")  # the tween chain, the exception views
    for part in (".health", ".users", ".articles", ".comments", ".openapi"):
        config.include(part, route_prefix="/api")
    return config


def main(global_config, **settings):
    """The ``paste.app_factory`` entry point (``pserve development.ini``).

    Settings that cannot work (an unset ``env:`` variable, a short secret)
    stop the process with their one-sentence reason: raised as they are,
    pserve would print that sentence under some forty lines of its loader's
    traceback, which tells an operator nothing more.
    """
    try:
        config = make_config(settings)
    except ConfigurationError as exc:
        raise SystemExit(f"myapp: {exc}") from None
    return config.make_wsgi_app()
