"""Comments on an article: /articles/{slug}/comments."""

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..articles.queries import find_article
from ..validation import validated_body
from . import services
from .models import Comment
from .schemas import NewCommentBody, comment_json


@view_config(route_name="comments", request_method="GET", renderer="json")
def list_comments(request):
    article = find_article(request.dbsession, request.matchdict["slug"])
    rows = services.comment_rows(request.dbsession, request.user, Comment.article_id == article.id)
    return {"comments": [comment_json(row) for row in rows]}


@view_config(
    route_name="comments", request_method="POST", renderer="json", permission="authenticated"
)
def add_comment(request):
    article = find_article(request.dbsession, request.matchdict["slug"])
    new_comment = validated_body(request, NewCommentBody).comment
    comment = services.add_comment(request.dbsession, request.user, article, new_comment)
    (row,) = services.comment_rows(request.dbsession, request.user, Comment.id == comment.id)
    request.response.status_int = 201
    return {"comment": comment_json(row)}


@view_config(route_name="comment", request_method="DELETE", permission="authenticated")
def delete_comment(request):
    article = find_article(request.dbsession, request.matchdict["slug"])
    services.delete_comment(
        request.dbsession, request.user, article, int(request.matchdict["comment_id"])
    )
    return HTTPNoContent()
