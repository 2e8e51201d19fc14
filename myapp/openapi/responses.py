"""The shapes of the API's answers, for the OpenAPI document.

The views build plain dicts (fast, no validation on the hot path); these
models describe them. The contract tests validate every response of the
functional tests against the document, so the two cannot drift apart.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        json_schema_extra={"format": "date-time"},
        examples=["2024-05-01T12:34:56.789Z"],
    ),
]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class User(Answer):
    email: str
    token: str = Field(description="A JWT for `Authorization: Token <jwt>`")
    username: str
    bio: str | None
    image: str | None


class UserResponse(Answer):
    user: User


class Profile(Answer):
    username: str
    bio: str | None
    image: str | None
    following: bool


class ProfileResponse(Answer):
    profile: Profile


class ArticleListItem(Answer):
    slug: str
    title: str
    description: str
    tagList: list[str] = Field(description="Sorted")
    createdAt: Timestamp
    updatedAt: Timestamp
    favorited: bool
    favoritesCount: int
    author: Profile


class Article(ArticleListItem):
    body: str


class SingleArticleResponse(Answer):
    article: Article


class MultipleArticlesResponse(Answer):
    articles: list[ArticleListItem] = Field(description="Newest first; without `body`")
    articlesCount: int = Field(description="All matching articles, not only this page")


class Comment(Answer):
    id: int
    createdAt: Timestamp
    updatedAt: Timestamp
    body: str
    author: Profile


class SingleCommentResponse(Answer):
    comment: Comment


class MultipleCommentsResponse(Answer):
    comments: list[Comment] = Field(description="Oldest first")


class TagsResponse(Answer):
    tags: list[str] = Field(description="The most used tags (at most 100), most used first, then by name")


class HealthResponse(Answer):
    status: Literal["ok"]


class ReadinessResponse(Answer):
    status: Literal["ok"]
    database: Literal["ok", "unavailable", "unknown"] = Field(
        description="What this instance last saw of the shared database (it is not waited "
                    "on, and it does not make the instance unready)")


class GenericErrorModel(Answer):
    """Every error: field or resource name to a list of messages."""

    errors: dict[str, list[str]] = Field(examples=[{"title": ["can't be blank"]}])
