"""Parameters of the document's operations: path, query and header, and the ETag answer header.

Query parameters come from the same pydantic models ``validated_query``
checks with (myapp.edge.validation); the headers' patterns are the very
expressions the edge parses them with (myapp.edge.conditional,
myapp.edge.idempotency), so the document cannot promise another syntax.
"""

from ..edge import conditional
from ..edge.idempotency import KEY_FORMAT
from ..models import MAX_ID

#: The answer header of a page that has a next one (myapp.articles.paging).
NEXT_PAGE = {
    "Link": {
        "description": 'Extension: `<URL>; rel="next"` (RFC 8288) when a next page exists: '
                       "the same query with the `cursor` of this page's last item; that "
                       "page costs what the first one costs, however deep it is",
        "schema": {"type": "string"},
    }
}

ETAG = {
    "ETag": {
        "description": "Strong tag of this answer; articles and the user: "
                       '`"<content>.<answer>"` (If-Match compares `<content>`)',
        "schema": {"type": "string"},
    }
}


def _header(name, description, schema=None):
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


#: ``*`` or a list of entity-tags (RFC 9110, section 8.8.3), as the server parses them.
ENTITY_TAGS = {"type": "string", "pattern": f"^({conditional.ENTITY_TAGS.pattern})$"}
IF_NONE_MATCH = _header(
    "If-None-Match", "ETags you have: 304 with no body when one is the current one",
    ENTITY_TAGS)
IF_MATCH = _header(
    "If-Match", "The ETag you read (or `*`): 412 and nothing written when the content "
    "changed since (another user's favorite or follow is not a change)", ENTITY_TAGS)
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key", '`"<1-255 visible ASCII chars, no quote or backslash>"`: a retry with '
    "the same key and body (same user) gets the first 2xx answer again and writes nothing; "
    "the same key with another body: 422. Kept 24 hours.",
    {"type": "string", "pattern": f"^({KEY_FORMAT.pattern})$"})

PATH_PARAMETERS = {
    "username": {"type": "string"},
    "slug": {"type": "string"},
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}

#: What validated_query enforces beyond the schema's own keywords. (A JSON
#: Schema ``pattern`` applies to strings only: for an integer it states the
#: accepted spelling, which these descriptions spell out.)
ONE_VALUE = "At most once: a repeated parameter is 422."
CANONICAL_INTEGER_FORM = (
    "A decimal integer in canonical form: an optional '-' and digits without leading "
    "zeros (no '+', no '.0', no exponent, no spaces), else 422."
)


def query_parameters(model):
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": " ".join(
                filter(None, [
                    prop.pop("description", None),
                    CANONICAL_INTEGER_FORM if prop.get("type") == "integer" else None,
                    ONE_VALUE,
                ])
            ),
            "schema": prop,
        }
        for name, prop in schema["properties"].items()
    ]


def path_parameters(path):
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in names
    ]
