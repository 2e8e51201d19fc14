"""Users, authentication and profiles."""

from ..edge.paths import param
from .current import signed_in_user


def includeme(config):
    config.add_route("users", "/users")
    config.add_route("login", "/users/login")
    config.add_route("user", "/user")
    config.add_route("profile", f"/profiles/{param('username')}")
    config.add_route("follow", f"/profiles/{param('username')}/follow")
    config.add_request_method(signed_in_user, "user", reify=True)
    config.scan(".views")
