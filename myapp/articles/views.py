"""Articles, the feed, favorites and tags."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..edge.conditional import article_version, require_current, set_content_version
from ..edge.idempotency import Keyed
from ..edge.validation import validated_body, validated_query
from ..users.current import reading_viewer
from . import queries, services
from .paging import set_next_link
from .schemas import (
    ArticleFilters,
    ArticleUpdateBody,
    NewArticleBody,
    Page,
    article_content,
    article_json,
)


def _page_json(request, rows, count, more):
    if more and rows:  # limit=0 has no last item to continue after
        set_next_link(request, rows[-1])
    return {"articles": [article_json(row, with_body=False) for row in rows], "articlesCount": count}


def _article_answer(request, slug):
    # The token checked by the article's statement (a write's viewer is loaded already).
    row = queries.article_by_slug(request.dbsession, reading_viewer(request), slug)
    article = article_json(row)
    set_content_version(request, article_version(article))
    return {"article": article}


def _require_current(request, article):
    """412 unless If-Match names ``article``'s current content (under its row lock)."""
    require_current(request, lambda: article_version(article_content(article)), "article")


@view_config(route_name="articles", request_method="GET", renderer="json")
def list_articles(request):
    filters = validated_query(request, ArticleFilters)
    viewer = reading_viewer(request)  # the token checked by the page's statement
    return _page_json(request, *queries.article_page(request.dbsession, viewer, filters))


@view_config(route_name="feed", request_method="GET", renderer="json", permission="token")
def feed(request):
    page = validated_query(request, Page)
    viewer = reading_viewer(request)  # the token checked by the page's statement
    return _page_json(request, *queries.article_page(request.dbsession, viewer, page, feed=True))


@view_config(
    route_name="articles", request_method="POST", renderer="json", permission="authenticated",
    idempotency=Keyed(),
)
def create_article(request):
    new_article = validated_body(request, NewArticleBody).article
    article = services.create_article(request.dbsession, request.user, new_article)
    request.response.status_int = 201
    return _article_answer(request, article.slug)


@view_config(route_name="article", request_method="GET", renderer="json")
def get_article(request):
    return _article_answer(request, request.matchdict["slug"])


@view_config(
    route_name="article", request_method="PUT", renderer="json", permission="authenticated"
)
def update_article(request):
    # The author's own, else 403 before anything else: a stranger learns nothing more.
    article = services.article_to_change(request.dbsession, request.user, request.matchdict["slug"])
    changes = validated_body(request, ArticleUpdateBody).article
    # After the checks that answer without it (RFC 9110, section 13.2.1).
    _require_current(request, article)
    services.update_article(request.dbsession, article, changes)
    return _article_answer(request, article.slug)


@view_config(route_name="article", request_method="DELETE", permission="authenticated")
def delete_article(request):
    article = services.article_to_change(request.dbsession, request.user, request.matchdict["slug"])
    _require_current(request, article)
    services.delete_article(request.dbsession, article)
    return HTTPNoContent()


@view_config(
    route_name="favorite", request_method="POST", renderer="json", permission="authenticated"
)
def favorite(request):
    slug = request.matchdict["slug"]
    services.favorite(request.dbsession, request.user, slug)
    return _article_answer(request, slug)  # 404 for an unknown slug


@view_config(
    route_name="favorite", request_method="DELETE", renderer="json", permission="authenticated"
)
def unfavorite(request):
    slug = request.matchdict["slug"]
    services.unfavorite(request.dbsession, request.user, slug)
    return _article_answer(request, slug)  # 404 for an unknown slug


@view_config(route_name="tags", request_method="GET", renderer="json")
def tags(request):
    return {"tags": queries.popular_tags(request.dbsession)}
