"""Articles, the personal feed, favorites and tags."""

from ..edge.paths import param


def includeme(config):
    # /articles/feed before /articles/{slug}, or "feed" would be taken for a slug.
    config.add_route("articles", "/articles")
    config.add_route("feed", "/articles/feed")
    config.add_route("article", f"/articles/{param('slug')}")
    config.add_route("favorite", f"/articles/{param('slug')}/favorite")
    config.add_route("tags", "/tags")
    config.scan(".views")
