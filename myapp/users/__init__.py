"""Users, authentication and profiles."""


def includeme(config):
    config.add_route("users", "/users")
    config.add_route("login", "/users/login")
    config.add_route("user", "/user")
    config.add_route("profile", "/profiles/{username}")
    config.add_route("follow", "/profiles/{username}/follow")
    config.scan(".views")
