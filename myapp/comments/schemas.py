"""Request and response shapes of the comments endpoints."""

from pydantic import Field

from ..articles.paging import decode_cursor
from ..articles.schemas import Cursor
from ..users.schemas import profile_json
from ..edge.validation import BoundedQueryInteger, QuerySchema, Schema, Text

#: The largest page of comments (the extension; without ``limit``, all of them).
MAX_COMMENTS_PAGE = 100


class NewComment(Schema):
    body: Text(10_000)


class NewCommentBody(Schema):
    comment: NewComment


class CommentPage(QuerySchema):
    """Extension: a bounded page of comments, oldest first. Without ``limit``
    the answer has every comment, as the spec defines it."""

    limit: BoundedQueryInteger(1, MAX_COMMENTS_PAGE) | None = Field(
        None,
        description="Extension: at most this many comments, and Link rel=\"next\" when more follow.",
    )
    cursor: Cursor = None

    @property
    def after(self):
        return decode_cursor(self.cursor) if self.cursor is not None else None


def comment_json(comment, author, following):
    """``comment`` has id, its timestamps as text (``created_at_iso``, ``updated_at_iso``)
    and body; ``author`` username, bio and image (a row of ``services.comments_of`` is both)."""
    return {
        "id": comment.id,
        "createdAt": comment.created_at_iso,
        "updatedAt": comment.updated_at_iso,
        "body": comment.body,
        "author": profile_json(author, bool(following)),
    }
