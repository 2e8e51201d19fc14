"""The OpenAPI document: valid, complete, served, and enforced by the contract checks."""

import json
import re

import pytest
from pydantic import ValidationError
import webob
from openapi_spec_validator import validate

from myapp.edge.routes import view_methods
from myapp.openapi.document import OPERATIONS

from ..contract import check_response

#: Not API endpoints: the document itself, its viewer, and the operators' metrics.
DOCUMENTATION_ROUTES = {"openapi", "docs", "__docs/static/", "metrics"}


def normalised(pattern):
    """``/api/articles/{slug}/comments/{comment_id:\\d+}`` → ``/api/articles/{}/comments/{}``."""
    return "/" + re.sub(r"\{[^}]+\}", "{}", pattern).lstrip("/")


def routes_and_methods(app):
    """Every (METHOD, path) the application has a view for."""
    routes = app.registry.introspector.get_category("routes")
    patterns = {item["introspectable"]["name"]: item["introspectable"]["pattern"] for item in routes}
    return {
        (method, normalised(patterns[name]))
        for name, methods in view_methods(app.registry).items()
        if name not in DOCUMENTATION_ROUTES
        for method in methods
    }


def test_the_document_is_valid_openapi_3_1(testapp):
    document = testapp.get("/api/openapi.json").json
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_endpoint_of_the_application_is_in_the_document(app):
    documented = {(op.method, normalised(op.path)) for op in OPERATIONS}
    assert routes_and_methods(app) == documented


def test_the_docs_page_works_offline(testapp):
    page = testapp.get("/api/docs")
    assert page.content_type == "text/html"
    assert "https://" not in page.text and "http://" not in page.text
    assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert len(testapp.get(asset).body) > 1000
    assert '"/api/openapi.json"' in page.text


def _response(status, body):
    response = webob.Response(status=status, body=body.encode(), content_type="application/json")
    response.request = webob.Request.blank("/api/tags")
    return response


@pytest.mark.parametrize(
    "status, body",
    [
        (200, '{"tags": "not-a-list"}'),
        (200, '{"tags": [], "extra": 1}'),
        (201, '{"tags": []}'),  # a status the document does not list
        (404, '{"error": "no"}'),  # an error not in the spec's shape
    ],
)
def test_the_contract_check_rejects_answers_that_break_the_document(status, body):
    response = _response(status, body)
    with pytest.raises(AssertionError):
        check_response(response.request, response)


def test_the_contract_check_accepts_a_conforming_answer():
    response = _response(200, '{"tags": ["a", "b"]}')
    check_response(response.request, response)


TRICKY_STRINGS = ["", "   ", "\t\n", "a\u0000b", "ok", "two words", "\u2003", "x" * 300, "a@b"]
VALID_VALUES = {
    "username": "someone", "email": "a@b", "password": "password123",
    "title": "t", "description": "d", "body": "b",
}


def _string_fields(schema):
    """(envelope, field, property schema) of every string field of a request body."""
    envelope, inner = next(iter(schema["properties"].items()))
    for field, prop in inner["properties"].items():
        branches = prop.get("anyOf", [prop])
        if any(branch.get("type") == "string" for branch in branches):
            yield envelope, field


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.body], ids=lambda op: op.operation_id)
def test_the_document_and_the_validation_agree_on_every_string_field(operation):
    """schemathesis found fields the document allowed and the server refused (blank, NUL)."""
    from jsonschema import Draft202012Validator

    from myapp.openapi.document import build_document

    schema = build_document()["components"]["schemas"][operation.body.__name__]
    validator = Draft202012Validator(schema)
    valid = operation.body.model_validate_json
    for envelope, field in _string_fields(schema):
        required = schema["properties"][envelope].get("required", [])
        minimal = {name: VALID_VALUES[name] for name in required}
        assert validator.is_valid({envelope: minimal})
        for value in TRICKY_STRINGS:
            body = {envelope: {**minimal, field: value}}
            documented = validator.is_valid(body)
            try:
                valid(json.dumps(body))
                accepted = True
            except ValidationError:
                accepted = False
            assert documented == accepted, (operation.operation_id, field, value)


def _query_parameter(document, path, name):
    parameters = document["paths"][path]["get"]["parameters"]
    return next(p for p in parameters if p["name"] == name)


@pytest.mark.parametrize("value", ["0", "7", "100", "-1", "+1", "01", "-0", "1.0", " 1", "1e2", "0x1"])
def test_the_document_states_which_spellings_of_an_integer_the_api_takes(testapp, value):
    """Its pattern matches exactly the spellings that are not refused as "not an integer"."""
    document = testapp.get("/api/openapi.json").json
    limit = _query_parameter(document, "/api/articles", "limit")
    documented = re.search(limit["schema"]["pattern"], value) is not None
    answer = testapp.get("/api/articles", params={"limit": value}, expect_errors=True)
    refused_as_not_an_integer = answer.json.get("errors") == {"limit": ["must be an integer"]}
    assert documented != refused_as_not_an_integer
    assert "canonical form" in limit["description"]


def test_the_document_says_each_query_parameter_is_given_at_most_once(testapp):
    document = testapp.get("/api/openapi.json").json
    for path in ("/api/articles", "/api/articles/feed"):
        parameters = document["paths"][path]["get"]["parameters"]
        for parameter in (p for p in parameters if p["in"] == "query"):
            assert parameter["schema"].get("type") != "array"
            assert "At most once: a repeated parameter is 422." in parameter["description"]


def _keys(schema):
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            yield from _keys(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _keys(item)


def test_query_bounds_are_json_schema_keywords_so_clients_and_the_fuzzer_know_them(testapp):
    """An optional bounded integer (the comments' limit) keeps its minimum and maximum."""
    document = testapp.get("/api/openapi.json").json
    assert not {"ge", "le", "gt", "lt"} & set(_keys(document["paths"]))
    [limit] = [
        parameter["schema"]
        for parameter in document["paths"]["/api/articles/{slug}/comments"]["get"]["parameters"]
        if parameter["name"] == "limit"
    ]
    assert {"minimum": 1, "maximum": 100}.items() <= limit["anyOf"][0].items()
