"""Comments on articles."""


def includeme(config):
    config.add_route("comments", "/articles/{slug}/comments")
    config.add_route("comment", "/articles/{slug}/comments/{comment_id:\\d+}")
    config.scan(".views")
