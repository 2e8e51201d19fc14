"""Request and response shapes of the comments endpoints."""

from ..models import iso_utc
from ..users.schemas import profile_json
from ..edge.validation import Schema, Text


class NewComment(Schema):
    body: Text(10_000)


class NewCommentBody(Schema):
    comment: NewComment


def comment_json(comment, author, following):
    """``comment`` has id, timestamps and body; ``author`` username, bio and image
    (a row of ``services.comments_of`` is both)."""
    return {
        "id": comment.id,
        "createdAt": iso_utc(comment.created_at),
        "updatedAt": iso_utc(comment.updated_at),
        "body": comment.body,
        "author": profile_json(author, bool(following)),
    }
