"""Request bodies and query strings, validated by declared pydantic schemas.

``validated_body(request, Schema)`` parses and validates the raw JSON bytes in
one pass (pydantic's ``model_validate_json``) and turns every problem into the
spec's error shape, ``{"errors": {"<field>": ["<message>"]}}``:

- not JSON, or not UTF-8: 400 ``{"body": ["is not valid JSON"]}``
- a declared Content-Type other than JSON: 415; over ``myapp.max_body_bytes``: 413
- missing or blank fields: 422 ``can't be blank``; wrong types, unknown
  fields, values out of bounds: 422 with a message naming the rule.

Nothing is written when validation fails: the view never runs its work.
"""

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from .errors import APIError, error

JSON_TYPES = ("application/json",)

MESSAGES = {
    "missing": "can't be blank",
    "blank": "can't be blank",
    "nul": "must not contain NUL characters",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "model_attributes_type": "must be an object",
    "extra_forbidden": "is not allowed",
    "string_too_long": "is too long (maximum is {max_length} characters)",
    "string_too_short": "is too short (minimum is {min_length} characters)",
    "too_long": "has too many items (maximum is {max_length})",
    "string_pattern_mismatch": "is invalid",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "greater_than_equal": "must be greater than or equal to {ge}",
    "less_than_equal": "must be less than or equal to {le}",
    "bool_type": "must be true or false",
}


#: The whitespace that makes a string blank (explicit: regex engines disagree on \s).
BLANK_CHARS = " \t\n\v\f\r"
#: No NUL anywhere (PostgreSQL text cannot hold it).
NO_NUL = r"^[^\x00]*$"
#: Something besides whitespace, and no NUL. The same regex validates the
#: request and appears in the OpenAPI document, so the two agree.
NOT_BLANK = r"^[^\x00]*[^\x00 \t\n\v\f\r][^\x00]*$"


def _blank_to_none(value):
    return value if value is not None and value.strip() else None


def Text(max_length, min_length=None, pattern=NOT_BLANK):
    """A required string that is not blank, at most ``max_length`` characters."""
    return Annotated[
        str, StringConstraints(max_length=max_length, min_length=min_length, pattern=pattern)
    ]


def OptionalText(max_length):
    """A nullable string; empty or blank becomes None."""
    return Annotated[
        str | None,
        StringConstraints(max_length=max_length, pattern=NO_NUL),
        AfterValidator(_blank_to_none),
    ]


def QueryText(max_length):
    """An optional query-string value."""
    return Annotated[str | None, StringConstraints(max_length=max_length, pattern=NO_NUL)]


#: An integer in a query string, in canonical decimal form only: an optional
#: "-", then digits without leading zeros ("0", "20", "-1"; never "+1", "01",
#: "1.0", " 1" or "1e3"), so that one number has exactly one spelling. The
#: same regex is in the OpenAPI document.
CANONICAL_INTEGER = r"^(0|-?[1-9][0-9]*)$"


def _canonical_integer(value):
    if isinstance(value, str) and not re.fullmatch(CANONICAL_INTEGER, value):
        raise PydanticCustomError("int_parsing", "not a canonical decimal integer")
    return value


#: The integer query parameters (``limit``, ``offset``); bounds go in ``Field``.
QueryInteger = Annotated[
    int,
    BeforeValidator(_canonical_integer),
    Field(json_schema_extra={"pattern": CANONICAL_INTEGER}),
]


def BoundedQueryInteger(ge, le):
    """A QueryInteger with its bounds on the integer itself: for an optional one
    (``BoundedQueryInteger(1, 100) | None``), whose bounds given in the field's
    ``Field`` pydantic would leave out of the JSON schema (the OpenAPI document)."""
    return Annotated[
        int,
        Field(ge=ge, le=le),
        BeforeValidator(_canonical_integer),
        Field(json_schema_extra={"pattern": CANONICAL_INTEGER}),
    ]


class Schema(BaseModel):
    """Request bodies: JSON types only (no "1" for 1), unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=False)


class QuerySchema(BaseModel):
    """Query strings: values arrive as text; unknown parameters are ignored.

    Every declared parameter takes one value: a repeated one is refused
    (``validated_query``) rather than silently resolved to one of its values.
    """

    model_config = ConfigDict(extra="ignore")


def _message(detail):
    given = detail.get("input")
    if detail["type"] == "string_type" and given is None:
        return MESSAGES["blank"]  # null for a field that must have a value
    if isinstance(given, str) and "\x00" in given:
        return MESSAGES["nul"]
    if isinstance(given, str) and not given.strip(BLANK_CHARS):
        return MESSAGES["blank"]  # "" is blank before it is too short
    template = MESSAGES.get(detail["type"])
    if template is None:
        return detail["msg"][0].lower() + detail["msg"][1:]
    return template.format(**detail.get("ctx", {}))


def _field(detail, envelope):
    names = [part for part in detail["loc"] if isinstance(part, str)]
    if names and names[0] == envelope and len(names) > 1:
        names = names[1:]
    return names[-1] if names else "body"


def validation_errors(exc, envelope=None, status=422):
    """An ``APIError`` listing every problem pydantic found, by field."""
    errors = {}
    for detail in exc.errors(include_url=False):
        if detail["type"] in ("json_invalid", "json_type"):
            return error(400, "body", "is not valid JSON")
        messages = errors.setdefault(_field(detail, envelope), [])
        message = _message(detail)
        if message not in messages:
            messages.append(message)
    return APIError(status, errors)


#: Set in the environ when a body of undeclared length was found over the limit.
OVERSIZE_BODY = "myapp.oversize_body"


def bounded_body(request, limit):
    """False when the body is over ``limit`` bytes, found without reading more than that.

    A declared Content-Length over the limit is refused unread. A body of
    undeclared length (``Transfer-Encoding: chunked``; gunicorn passes it
    through unbuffered) is read up to ``limit + 1`` bytes: over that it is
    refused, otherwise it becomes the request's body with a known length, so
    that nothing later (WebOb, pyramid_retry's copy) reads an unbounded stream.
    """
    if request.environ.get(OVERSIZE_BODY):
        return False
    length = request.content_length
    if length is not None:
        return length <= limit
    if request.is_body_readable:
        body = request.body_file_raw.read(limit + 1)
        if len(body) > limit:
            request.environ[OVERSIZE_BODY] = True
            return False
        request.body = body
    return True


def validated_body(request, schema):
    """The request body as an instance of ``schema``, or an APIError raised."""
    content_type = request.content_type
    if content_type and content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise error(415, "body", "must be JSON (Content-Type: application/json)")
    limit = request.registry.app_settings.max_body_bytes
    # A declared length over the limit is refused before the body is read; the
    # body is read once (WebOb reads the stream again on every access).
    if not bounded_body(request, limit) or len(body := request.body) > limit:
        raise error(413, "body", f"is too large (maximum is {limit} bytes)")
    if not body.strip():
        raise error(422, "body", "can't be blank")
    envelope = next(iter(schema.model_fields))
    try:
        return schema.model_validate_json(body)
    except ValidationError as exc:
        raise validation_errors(exc, envelope) from None


def validated_query(request, schema):
    """The query string as an instance of ``schema``; a declared parameter given twice is 422."""
    try:
        params = request.GET
        repeated = [name for name in schema.model_fields if len(params.getall(name)) > 1]
        if repeated:
            raise APIError(422, {name: ["must be given at most once"] for name in repeated})
        return schema.model_validate(dict(params.items()))
    except ValidationError as exc:
        raise validation_errors(exc) from None
    except UnicodeDecodeError:
        raise error(422, "query", "is not valid UTF-8") from None


def retry_attempts(request):
    """pyramid_retry's ``retry.activate_hook``: one attempt for an over-limit body.

    To replay a request pyramid_retry first copies its body, before any view
    runs. A body over ``myapp.max_body_bytes`` is answered 413 unread
    (myapp.edge.validation), so it is not worth copying: one attempt, no copy.
    """
    if not bounded_body(request, request.registry.app_settings.max_body_bytes):
        return 1
    return None  # the configured retry.attempts


def includeme(config):
    settings = config.get_settings()
    settings["retry.activate_hook"] = retry_attempts  # read by pyramid_retry's deferred action
