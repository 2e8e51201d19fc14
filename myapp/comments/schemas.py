"""Request and response shapes of the comments endpoints."""

from ..models import iso_utc
from ..users.schemas import profile_json
from ..validation import Schema, Text


class NewComment(Schema):
    body: Text(10_000)


class NewCommentBody(Schema):
    comment: NewComment


def comment_json(row):
    """``row`` is (Comment, following) from ``services.comment_rows``."""
    comment = row.Comment
    return {
        "id": comment.id,
        "createdAt": iso_utc(comment.created_at),
        "updatedAt": iso_utc(comment.updated_at),
        "body": comment.body,
        "author": profile_json(comment.author, bool(row.following)),
    }
