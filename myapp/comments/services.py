"""Comments: listed oldest first, in two statements whatever their number."""

from sqlalchemy import exists, literal, select
from sqlalchemy.orm import contains_eager

from ..errors import forbidden, not_found
from ..models import MAX_ID
from ..users.models import Follow
from .models import Comment


def comment_rows(dbsession, viewer, *conditions):
    """Rows of (Comment, following) with each comment's author loaded."""
    following = literal(False)
    if viewer is not None:
        following = exists().where(
            Follow.follower_id == viewer.id, Follow.followee_id == Comment.author_id
        )
    return dbsession.execute(
        select(Comment, following.label("following"))
        .join(Comment.author)
        .options(contains_eager(Comment.author))
        .where(*conditions)
        .order_by(Comment.created_at, Comment.id)
    ).all()


def add_comment(dbsession, author, article, new_comment):
    comment = Comment(body=new_comment.body, article_id=article.id, author_id=author.id)
    dbsession.add(comment)
    dbsession.flush()
    return comment


def delete_comment(dbsession, user, article, comment_id):
    if comment_id > MAX_ID:
        raise not_found("comment")
    comment = dbsession.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.article_id == article.id)
    )
    if comment is None:
        raise not_found("comment")
    if comment.author_id != user.id:
        raise forbidden("comment")
    dbsession.delete(comment)
    dbsession.flush()
