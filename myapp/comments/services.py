"""Comments: listed oldest first in one statement whatever their number."""

from sqlalchemy import bindparam, exists, false, insert, select

from ..articles.queries import articles, follows, users
from ..edge.errors import forbidden, not_found
from ..models import MAX_ID, utcnow
from ..db import mark_session_changed
from .models import Comment

comments = Comment.__table__


def _comments_statement(signed_in):
    """The article (so that a missing one is told from one without comments),
    left-joined to its comments and their authors, with ``following``."""
    following = false()
    if signed_in:
        following = exists().where(
            follows.c.follower_id == bindparam("viewer_id"),
            follows.c.followee_id == comments.c.author_id,
        )
    return (
        select(
            comments.c.id,
            comments.c.created_at,
            comments.c.updated_at,
            comments.c.body,
            users.c.username,
            users.c.bio,
            users.c.image,
            following.label("following"),
        )
        .select_from(
            articles.outerjoin(comments, comments.c.article_id == articles.c.id).outerjoin(
                users, users.c.id == comments.c.author_id
            )
        )
        .where(articles.c.slug == bindparam("slug"))
        .order_by(comments.c.created_at, comments.c.id)
    )


#: Built once: anonymous and signed-in.
COMMENTS_STATEMENTS = {signed_in: _comments_statement(signed_in) for signed_in in (False, True)}


def comments_of(dbsession, viewer, slug):
    """Rows of the comments on the article ``slug``, each with its author's
    columns and ``following``; 404 when there is no such article."""
    params = {"slug": slug}
    if viewer is not None:
        params["viewer_id"] = viewer.id
    rows = dbsession.execute(COMMENTS_STATEMENTS[viewer is not None], params).all()
    if not rows:
        raise not_found("article")
    return [row for row in rows if row.id is not None]


def _new_comment_statement():
    stamp = bindparam("now", type_=Comment.created_at.type)
    rows = select(
        bindparam("body", type_=Comment.body.type),
        articles.c.id,
        bindparam("author_id", type_=Comment.author_id.type),
        stamp,
        stamp,
    ).where(articles.c.slug == bindparam("slug"))
    return (
        insert(comments)
        .from_select(["body", "article_id", "author_id", "created_at", "updated_at"], rows)
        .returning(comments.c.id, comments.c.created_at, comments.c.updated_at, comments.c.body)
    )


#: Core (the ORM would take bound values for a bulk insert), built once.
NEW_COMMENT = _new_comment_statement()


def add_comment(dbsession, author, slug, new_comment, now=None):
    """A new comment on the article ``slug``, None when there is no such article.

    One statement, ``INSERT … SELECT … RETURNING``: the article's id is found
    by the insert itself. The answer is (id, created_at, updated_at, body).
    """
    params = {"body": new_comment.body, "author_id": author.id, "slug": slug, "now": now or utcnow()}
    inserted = dbsession.execute(NEW_COMMENT, params).first()
    mark_session_changed(dbsession)
    return inserted


def delete_comment(dbsession, user, article_id, comment_id):
    if comment_id > MAX_ID:
        raise not_found("comment")
    comment = dbsession.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.article_id == article_id)
    )
    if comment is None:
        raise not_found("comment")
    if comment.author_id != user.id:
        raise forbidden("comment")
    dbsession.delete(comment)
    dbsession.flush()
