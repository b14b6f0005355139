"""Schemas from the wild: relax what a grammar cannot enforce, and say what was relaxed.

Real clients send tool schemas that JSON Schema accepts but no value can satisfy, or that a
grammar engine cannot compile: an integer with string `enum` values, `minimum` above
`maximum`, `required` naming a property that does not exist, a lookaround `pattern`, an
empty `enum`. OpenAI accepts such tools; one of them must not sink every request that
offers it. `relax_parameters` fixes each such keyword the least it can, and says so in
one sentence per change; a schema the grammar engine still cannot compile leaves that
tool's arguments as any JSON object. The chat layer reports every relaxation in the
response (`toolwire.notes`) and the log; `Policies.schemas="strict"` refuses such tools
instead (HTTP 400 naming the tool).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from toolwire.schema.jsonschema import map_schema

__all__ = ["JSON_ONLY", "grammar_problem", "relax_parameters"]

JSON_ONLY: dict[str, Any] = {"type": "object"}
"""The arguments schema of a tool whose own schema cannot be compiled at all."""

_JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "null": type(None),
               "array": list, "object": dict}
_BOUNDS = (("minimum", "maximum"), ("exclusiveMinimum", "exclusiveMaximum"), ("minLength", "maxLength"),
           ("minItems", "maxItems"), ("minProperties", "maxProperties"))
logger = logging.getLogger("toolwire.schema")


def relax_parameters(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`schema` (a normalised parameters schema) with unsatisfiable or uncompilable keywords
    relaxed, and a sentence for each change. Schemas that need nothing come back unchanged."""
    if grammar_problem(json.dumps(schema, sort_keys=True)) is None:
        return schema, []
    changes: list[str] = []

    def fix(node: dict[str, Any]) -> dict[str, Any]:
        node = dict(node)
        _fix_enum(node, changes)
        _fix_bounds(node, changes)
        _fix_required(node, changes)
        _fix_pattern(node, changes)
        return node

    relaxed = map_schema(schema, fix)
    problem = grammar_problem(json.dumps(relaxed, sort_keys=True))
    if problem is not None:
        changes.append((f"arguments left as any JSON object: {problem}"))
        relaxed = dict(JSON_ONLY)
    return relaxed, changes


def _fix_enum(node: dict[str, Any], changes: list[str]) -> None:
    if "enum" not in node or not isinstance(node["enum"], list):
        return
    if not node["enum"]:
        del node["enum"]
        changes.append(("dropped an empty enum"))
        return
    types = node.get("type")
    allowed = [types] if isinstance(types, str) else types if isinstance(types, list) else None
    if allowed and not any(_has_type(value, allowed) for value in node["enum"]):
        del node["type"]
        changes.append((f"dropped type {types!r}: no value of enum {node['enum']!r} has it"))


def _has_type(value: Any, types: list[str]) -> bool:
    for name in types:
        kind = _JSON_TYPES.get(name)
        if kind is None:
            return True
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if name == "integer" and isinstance(value, float):
            if value.is_integer():
                return True
            continue
        if isinstance(value, kind):
            return True
    return False


def _fix_bounds(node: dict[str, Any], changes: list[str]) -> None:
    for low, high in _BOUNDS:
        below, above = node.get(low), node.get(high)
        if isinstance(below, (int, float)) and isinstance(above, (int, float)) and below > above:
            del node[low], node[high]
            changes.append((f"dropped {low} {below} and {high} {above}: no value lies between"))


def _fix_required(node: dict[str, Any], changes: list[str]) -> None:
    required, properties = node.get("required"), node.get("properties")
    if not isinstance(required, list) or not isinstance(properties, dict):
        return
    if node.get("additionalProperties", False) not in (False, None) and "additionalProperties" in node:
        return  # extra keys are allowed: a required key without a property is satisfiable
    missing = [name for name in required if name not in properties]
    if missing:
        node["required"] = [name for name in required if name in properties]
        changes.append((f"dropped required {missing!r}: no such property"))


def _fix_pattern(node: dict[str, Any], changes: list[str]) -> None:
    pattern = node.get("pattern")
    if isinstance(pattern, str) and grammar_problem(json.dumps({"type": "string", "pattern": pattern})) is not None:
        del node["pattern"]
        changes.append((f"dropped pattern {pattern!r}: the grammar engine cannot compile it"))


@lru_cache(maxsize=1024)
def grammar_problem(schema_text: str) -> str | None:
    """Why llguidance cannot compile arguments of this schema (closed to extra keys, as
    toolwire's grammars are), or None. Cached by schema text."""
    import llguidance

    from toolwire.constrain import closed_schema

    schema = closed_schema(json.loads(schema_text))
    grammar = "%llguidance {}\nstart: %json " + json.dumps({**schema, "x-guidance": {"lenient": True}})
    error = llguidance.LLMatcher.validate_grammar(grammar, None)
    if not error:
        return None
    for line in error.splitlines():
        if "failed to compile" in line or "error:" in line:
            return line.split("failed to compile JSON schema:")[-1].strip()
    return error.splitlines()[0]
