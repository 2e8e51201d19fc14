"""Comments on an article: /articles/{slug}/comments."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..articles.paging import set_next_link
from ..articles.queries import article_id
from ..edge.errors import APIError, not_found
from ..edge.idempotency import Keyed
from ..edge.validation import validated_body, validated_query
from ..users.current import reading_viewer
from . import services
from .schemas import CommentPage, NewCommentBody, comment_json


@view_config(route_name="comments", request_method="GET", renderer="json")
def list_comments(request):
    page = validated_query(request, CommentPage)
    slug = request.matchdict["slug"]
    viewer = reading_viewer(request)  # the token checked by the comments' statement
    if page.limit is None:  # the spec's answer: every comment
        rows = services.comments_of(request.dbsession, viewer, slug)
    else:
        rows, more = services.comment_page(request.dbsession, viewer, slug, page)
        if more and rows:  # limit=0 has no last item to continue after
            set_next_link(request, rows[-1])
    return {"comments": [comment_json(row, row, row.following) for row in rows]}


@view_config(
    route_name="comments", request_method="POST", renderer="json", permission="authenticated",
    idempotency=Keyed(),
)
def add_comment(request):
    slug = request.matchdict["slug"]
    try:
        new_comment = validated_body(request, NewCommentBody).comment
    except APIError:
        article_id(request.dbsession, slug)  # an unknown article is said first: 404
        raise
    comment = services.add_comment(request.dbsession, request.user, slug, new_comment)
    if comment is None:
        raise not_found("article")
    request.response.status_int = 201
    # The author is the viewer, who cannot follow themselves.
    return {"comment": comment_json(comment, request.user, following=False)}


@view_config(route_name="comment", request_method="DELETE", permission="authenticated")
def delete_comment(request):
    found = article_id(request.dbsession, request.matchdict["slug"])
    services.delete_comment(
        request.dbsession, request.user, found, int(request.matchdict["comment_id"])
    )
    return HTTPNoContent()
