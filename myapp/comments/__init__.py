"""Comments on articles."""

from ..edge.paths import param


def includeme(config):
    config.add_route("comments", f"/articles/{param('slug')}/comments")
    config.add_route("comment", f"/articles/{param('slug')}/comments/{{comment_id:\\d+}}")
    config.scan(".views")
