"""The OpenAPI 3.1 document, built from the schema classes the views validate with.

Request bodies and query parameters come straight from the pydantic models
the views use (``NewUserBody``, ``ArticleFilters``…), so they cannot drift;
answers are described in ``responses.py``, parameters and headers in
``parameters.py``. ``OPERATIONS`` is the one table of endpoints: a test
fails when a route of the application is missing from it.
"""

import functools
from dataclasses import dataclass, field

from pydantic.json_schema import models_json_schema

from ..articles.schemas import ArticleFilters, ArticleUpdateBody, NewArticleBody, Page
from ..comments.schemas import CommentPage, NewCommentBody
from ..users.schemas import LoginUserBody, NewUserBody, UserUpdateBody
from . import responses as r
from .parameters import (
    ETAG, IDEMPOTENCY_KEY, IF_MATCH, IF_NONE_MATCH, NEXT_PAGE, path_parameters, query_parameters,
)

REF = "#/components/schemas/{model}"
ERROR = {"$ref": REF.format(model="GenericErrorModel")}

ERROR_REASONS = {
    400: "The body is not valid JSON, or a header is malformed (Idempotency-Key, If-Match, "
         "If-None-Match)",
    401: "No token, or an invalid one (tampered, expired, unknown user)",
    403: "Not allowed: not yours, or following yourself",
    404: "Not found",
    409: "Already taken",
    412: "If-Match does not name the current content: the resource changed since you "
         "read it; nothing was written (read it again, then retry)",
    413: "The body is too large",
    415: "The body is not JSON",
    422: "Invalid input: each field lists its problems (or the Idempotency-Key was "
         "already used with another request)",
    429: "Too many login attempts for this account or from this address; see Retry-After",
    503: "The database is unavailable, too slow, or the server is busy; "
         "try again after Retry-After seconds",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    status: int
    answer: type | None
    body: type | None = None
    query: type | None = None
    auth: str = "none"  # "none", "optional" or "required"
    errors: tuple[int, ...] = field(default=())
    can_be_unavailable: bool = True  # 503: database down or slow, server busy

    def error_statuses(self):
        statuses = set(self.errors) | ({503} if self.can_be_unavailable else set())
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.method == "GET" or self.operation_id in CONDITIONAL_WRITES:
            statuses.add(400)  # a malformed If-None-Match or If-Match
        if self.query is not None:
            statuses.add(422)
        if self.auth != "none":
            statuses.add(401)
        return sorted(statuses)


OPERATIONS = [
    Operation("GET", "/api/health", "health",
              "Readiness, at its historical address (same as /api/health/ready)", "Health",
              200, r.ReadinessResponse),
    Operation("GET", "/api/health/live", "liveness",
              "Liveness: the process answers (no database; restart the instance if not)",
              "Health", 200, r.HealthResponse, can_be_unavailable=False),
    Operation("GET", "/api/health/ready", "readiness",
              "Readiness: this instance should get traffic (started and warmed up; 503 "
              "while it drains: route elsewhere, do not restart)",
              "Health", 200, r.ReadinessResponse),
    Operation("POST", "/api/users", "register", "Register a new user", "Users",
              201, r.UserResponse, body=NewUserBody, errors=(409,)),
    Operation("POST", "/api/users/login", "login", "Log in with email and password", "Users",
              200, r.UserResponse, body=LoginUserBody, errors=(401, 429)),
    Operation("GET", "/api/user", "getCurrentUser", "The logged-in user", "Users",
              200, r.UserResponse, auth="required"),
    Operation("PUT", "/api/user", "updateCurrentUser", "Update the logged-in user", "Users",
              200, r.UserResponse, body=UserUpdateBody, auth="required", errors=(409, 412)),
    Operation("GET", "/api/profiles/{username}", "getProfile", "A user's profile", "Profiles",
              200, r.ProfileResponse, auth="optional", errors=(404,)),
    Operation("POST", "/api/profiles/{username}/follow", "followUser", "Follow a user",
              "Profiles", 200, r.ProfileResponse, auth="required", errors=(403, 404)),
    Operation("DELETE", "/api/profiles/{username}/follow", "unfollowUser", "Unfollow a user",
              "Profiles", 200, r.ProfileResponse, auth="required", errors=(404,)),
    Operation("GET", "/api/articles", "listArticles", "Articles, newest first", "Articles",
              200, r.MultipleArticlesResponse, query=ArticleFilters, auth="optional"),
    Operation("GET", "/api/articles/feed", "feed", "Articles by the users you follow",
              "Articles", 200, r.MultipleArticlesResponse, query=Page, auth="required"),
    Operation("POST", "/api/articles", "createArticle", "Write an article", "Articles",
              201, r.SingleArticleResponse, body=NewArticleBody, auth="required"),
    Operation("GET", "/api/articles/{slug}", "getArticle", "One article", "Articles",
              200, r.SingleArticleResponse, auth="optional", errors=(404,)),
    Operation("PUT", "/api/articles/{slug}", "updateArticle", "Update your article",
              "Articles", 200, r.SingleArticleResponse, body=ArticleUpdateBody,
              auth="required", errors=(403, 404, 412)),
    Operation("DELETE", "/api/articles/{slug}", "deleteArticle", "Delete your article",
              "Articles", 204, None, auth="required", errors=(403, 404, 412)),
    Operation("POST", "/api/articles/{slug}/favorite", "favoriteArticle", "Favorite an article",
              "Favorites", 200, r.SingleArticleResponse, auth="required", errors=(404,)),
    Operation("DELETE", "/api/articles/{slug}/favorite", "unfavoriteArticle",
              "Unfavorite an article", "Favorites", 200, r.SingleArticleResponse,
              auth="required", errors=(404,)),
    Operation("GET", "/api/articles/{slug}/comments", "listComments",
              "An article's comments, oldest first", "Comments", 200,
              r.MultipleCommentsResponse, query=CommentPage, auth="optional", errors=(404,)),
    Operation("POST", "/api/articles/{slug}/comments", "addComment", "Comment on an article",
              "Comments", 201, r.SingleCommentResponse, body=NewCommentBody,
              auth="required", errors=(404,)),
    Operation("DELETE", "/api/articles/{slug}/comments/{id}", "deleteComment",
              "Delete your comment", "Comments", 204, None, auth="required",
              errors=(403, 404)),
    Operation("GET", "/api/tags", "listTags", "The 100 most used tags (extension: at most 100), most used first", "Tags", 200, r.TagsResponse),
]

#: Answers that come in pages with a Link to the next one.
PAGED = frozenset({"listArticles", "feed", "listComments"})

#: Writes whose answer is tagged like a read of the same resource (myapp.edge.conditional).
TAGGED_WRITES = frozenset({
    "createArticle", "updateArticle", "favoriteArticle", "unfavoriteArticle",
    "updateCurrentUser",
})
#: Writes that honour If-Match.
CONDITIONAL_WRITES = frozenset({"updateArticle", "deleteArticle", "updateCurrentUser"})
#: POSTs that accept an Idempotency-Key (myapp.edge.idempotency).
KEYED_POSTS = frozenset({"register", "createArticle", "addComment"})

ARTICLE_SLUG = {"slug": "$response.body#/article/slug"}

#: What a client can do next with an answer (OpenAPI links; fuzzers follow them).
LINKS = {
    "createArticle": {
        target: ARTICLE_SLUG
        for target in (
            "getArticle", "updateArticle", "deleteArticle", "favoriteArticle",
            "unfavoriteArticle", "listComments", "addComment",
        )
    },
    # A new title gives a new slug: the answer to an update carries the current one.
    "updateArticle": {
        target: ARTICLE_SLUG
        for target in ("getArticle", "favoriteArticle", "listComments", "addComment")
    },
    "addComment": {
        "deleteComment": {"slug": "$request.path.slug", "id": "$response.body#/comment/id"}
    },
    "register": {
        target: {"username": "$response.body#/user/username"}
        for target in ("getProfile", "followUser", "unfollowUser")
    },
}

SECURITY = {
    "none": None,
    "optional": [{}, {"Token": []}],
    "required": [{"Token": []}],
}


def _component_schemas():
    """Request bodies as pydantic validates them, answers as they are produced."""
    requests = {op.body for op in OPERATIONS if op.body}
    answers = {op.answer for op in OPERATIONS if op.answer} | {r.GenericErrorModel}
    keyed = [(model, "validation") for model in requests]
    keyed += [(model, "serialization") for model in answers]
    keyed.sort(key=lambda pair: pair[0].__name__)
    _, schemas = models_json_schema(keyed, ref_template=REF)
    defs = schemas["$defs"]
    for schema in defs.values():
        for prop in schema.get("properties", {}).values():
            _drop_null_default(prop)
    # Request envelopes ({"user": {...}}) carry their inner object inline:
    # schemathesis' coverage phase mishandles a $ref inside a closed object
    # (schemathesis issue #4499) and sends such bodies as "valid" anyway.
    for model in requests:
        envelope = defs[model.__name__]
        for name, prop in envelope["properties"].items():
            envelope["properties"][name] = defs[prop["$ref"].rsplit("/", 1)[1]]
    return defs


def _allows_null(schema):
    return schema.get("type") == "null" or any(_allows_null(s) for s in schema.get("anyOf", []))


def _drop_null_default(prop):
    """``field: str = None`` means "optional, but not null": no default to show."""
    if "default" in prop and prop["default"] is None and not _allows_null(prop):
        del prop["default"]


def _ref(model):
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _operation(op):
    if op.answer is not None:
        success = {"description": "Success", **_json(_ref(op.answer))}
    else:
        success = {"description": "Done; empty body"}
    if op.operation_id in LINKS:
        success["links"] = {
            target: {"operationId": target, "parameters": parameters}
            for target, parameters in LINKS[op.operation_id].items()
        }
    is_read = op.method == "GET"
    if op.answer is not None and (is_read or op.operation_id in TAGGED_WRITES):
        success["headers"] = ETAG
    if op.operation_id in PAGED:
        success["headers"] = {**success["headers"], **NEXT_PAGE}
    answers = {str(op.status): success}
    if is_read:
        answers["304"] = {"description": "Not modified: your If-None-Match names the current "
                                         "answer (no body)", "headers": ETAG}
    for status in op.error_statuses():
        answers[str(status)] = {"description": ERROR_REASONS[status], **_json(ERROR)}
    spec = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": answers,
    }
    parameters = path_parameters(op.path)
    if op.query is not None:
        parameters += query_parameters(op.query)
    if is_read:
        parameters.append(IF_NONE_MATCH)
    if op.operation_id in CONDITIONAL_WRITES:
        parameters.append(IF_MATCH)
    if op.operation_id in KEYED_POSTS:
        parameters.append(IDEMPOTENCY_KEY)
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {"required": True, **_json(_ref(op.body))}
    if SECURITY[op.auth] is not None:
        spec["security"] = SECURITY[op.auth]
    return spec


@functools.cache
def build_document():
    """The document (built once per process: it depends only on the code)."""
    paths = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Conduit API",
            "version": "2.0.0",
            "description": (
                "The RealWorld (Conduit) API, spec version 2. Authenticate with "
                "`Authorization: Token <jwt>`, the token of POST /api/users or "
                "POST /api/users/login. Every error is "
                '`{"errors": {"<field>": ["<message>"]}}`. Every path also answers '
                "with one trailing slash, the same way (no redirect)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                "Token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <jwt>` (`Bearer <jwt>` works too)",
                }
            },
        },
    }
