"""Request and response shapes of the articles, feed, favorites and tags endpoints."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from ..models import iso_utc
from ..users.schemas import profile_json
from ..edge.validation import QueryInteger, QuerySchema, QueryText, Schema, Text
from .paging import CURSOR_PATTERN, decode_cursor

# Surrounding spaces are dropped: " pyramid " and "pyramid" are one tag. After
# validation, so that the limits apply to what was sent, as the document says.
Tag = Annotated[Text(64), AfterValidator(str.strip)]
TagList = Annotated[list[Tag], Field(max_length=20)]
Title = Text(255)
Description = Text(1000)
Body = Text(100_000)

#: Page size bounds for /articles and /articles/feed.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: The deepest offset (422 past it): a page at offset N reads N rows first, so
#: deep pages use the keyset ``cursor`` instead, which costs what page 1 costs.
MAX_OFFSET = 10_000

#: A keyset cursor (myapp.articles.paging); any string of this form is valid.
Cursor = Annotated[
    str | None,
    StringConstraints(pattern=CURSOR_PATTERN),
    Field(
        description=(
            "Extension: continue after the item this cursor names (the previous page's "
            "Link rel=\"next\" header carries it); any offset applies after it."
        )
    ),
]


class NewArticle(Schema):
    title: Title
    description: Description
    body: Body
    tagList: TagList = []


class NewArticleBody(Schema):
    article: NewArticle


class ArticleUpdate(Schema):
    """Every field optional; a given field must be valid. ``tagList: []`` removes all tags."""

    title: Title = None
    description: Description = None
    body: Body = None
    tagList: TagList = None


class ArticleUpdateBody(Schema):
    article: ArticleUpdate


class Page(QuerySchema):
    limit: QueryInteger = Field(DEFAULT_LIMIT, ge=0, le=MAX_LIMIT)
    offset: QueryInteger = Field(
        0, ge=0, le=MAX_OFFSET,
        description=f"At most {MAX_OFFSET} (422 past it); deeper pages: the cursor extension.",
    )
    cursor: Cursor = None

    @property
    def after(self):
        """(created_at, id) of the cursor, or None."""
        return decode_cursor(self.cursor) if self.cursor is not None else None


class ArticleFilters(Page):
    tag: QueryText(64) = None
    author: QueryText(64) = None
    favorited: QueryText(64) = None


def article_content(article):
    """What the author edits of an Article, as ``article_json`` shows it (myapp.edge.conditional)."""
    return {
        "slug": article.slug,
        "title": article.title,
        "description": article.description,
        "body": article.body,
        "createdAt": iso_utc(article.created_at),
        "updatedAt": iso_utc(article.updated_at),
    }


def article_json(row, with_body=True):
    """One article as the spec shows it; ``row`` comes from ``queries`` (its author's
    columns are the row's own)."""
    data = {
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "tagList": row.tag_list,
        "createdAt": row.created_at_iso,
        "updatedAt": row.updated_at_iso,
        "favorited": bool(row.favorited),
        "favoritesCount": row.favorites_count,
        "author": profile_json(row, bool(row.following)),
    }
    if with_body:
        data["body"] = row.body
    return data
