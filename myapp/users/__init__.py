"""Users, authentication and profiles."""

from ..edge.paths import param


def includeme(config):
    config.add_route("users", "/users")
    config.add_route("login", "/users/login")
    config.add_route("user", "/user")
    config.add_route("profile", f"/profiles/{param('username')}")
    config.add_route("follow", f"/profiles/{param('username')}/follow")
    config.include(".throttle")
    config.scan(".views")
