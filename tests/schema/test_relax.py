"""schema.relax: the sloppy schemas real clients send become schemas a grammar can enforce,
each change named; a schema that is fine is left alone."""

from __future__ import annotations

import pytest

from toolwire.schema.jsonschema import normalize_parameters
from toolwire.schema.relax import JSON_ONLY, grammar_problem, relax_parameters


def relax(properties: dict, required: list[str] | None = None) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    schema = normalize_parameters({"type": "object", "properties": properties, "required": required or []}, where="t")
    relaxed, changes = relax_parameters(schema)
    assert grammar_problem(__import__("json").dumps(relaxed, sort_keys=True)) is None
    return relaxed, changes


@pytest.mark.parametrize(("properties", "required", "expected", "change"), [
    ({"x": {"type": "integer", "enum": ["a", "b"]}}, ["x"], {"enum": ["a", "b"]}, "dropped type 'integer'"),
    ({"x": {"type": "integer", "minimum": 10, "maximum": 1}}, ["x"], {"type": "integer"}, "dropped minimum 10 and maximum 1"),
    ({"x": {"type": "string", "minLength": 5, "maxLength": 2}}, ["x"], {"type": "string"}, "dropped minLength 5"),
    ({"x": {"type": "string", "pattern": "^(?!foo)bar"}}, ["x"], {"type": "string"}, "dropped pattern '^(?!foo)bar'"),
    ({"x": {"enum": []}}, ["x"], {}, "dropped an empty enum"),
])
def test_sloppy_keywords_are_relaxed_and_named(properties, required, expected, change) -> None:  # type: ignore[no-untyped-def]
    relaxed, changes = relax(properties, required)
    assert relaxed["properties"]["x"] == expected
    assert len(changes) == 1 and changes[0].startswith(change)


def test_required_naming_no_property_is_dropped_from_required() -> None:
    relaxed, changes = relax({"x": {"type": "string"}}, ["x", "y"])
    assert relaxed["required"] == ["x"] and changes == ["dropped required ['y']: no such property"]


@pytest.mark.parametrize("properties", [
    {"x": {"type": ["string", "null"]}},  # type lists
    {"x": {"type": "string", "x-vendor": 1, "format": "x-custom"}},  # unknown keywords and formats
    {"x": {"type": "integer", "enum": [1, 2.0]}},
    {"x": {"type": "string", "pattern": "^[a-z]+$", "minLength": 1, "maxLength": 3}},
])
def test_schemas_a_grammar_can_enforce_are_unchanged(properties) -> None:  # type: ignore[no-untyped-def]
    schema = normalize_parameters({"type": "object", "properties": properties}, where="t")
    assert relax_parameters(schema) == (schema, [])


def test_a_nested_problem_is_fixed_where_it_is() -> None:
    relaxed, changes = relax({"items": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
        "qty": {"type": "integer", "minimum": 3, "maximum": 0}}, "required": ["qty"]}}}, ["items"])
    assert relaxed["properties"]["items"]["items"]["properties"]["qty"] == {"type": "integer"}
    assert relax({"x": {"type": "integer", "minimum": 3, "maximum": 0}}) == (  # optional: never written, so fine
        normalize_parameters({"type": "object", "properties": {"x": {"type": "integer", "minimum": 3, "maximum": 0}},
                              "required": []}, where="t"), [])
    assert changes == ["dropped minimum 3 and maximum 0: no value lies between"]


def test_what_cannot_be_fixed_leaves_any_json_object() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "const": 3}}, "required": ["x"]}
    relaxed, changes = relax_parameters(schema)
    assert relaxed == JSON_ONLY and changes[-1].startswith("arguments left as any JSON object")
