"""The engine-independent constraints an engine is asked to enforce, and the vocabulary
facts grammar building needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

from toolwire.errors import SchemaError
from toolwire.formats.base import CallSyntax
from toolwire.types import Tool, ToolChoice

__all__ = [
    "Constraint",
    "JsonConstraint",
    "LarkConstraint",
    "ToolCallConstraint",
    "Vocabulary",
    "closed_schema",
    "response_format_constraint",
]


@dataclass(frozen=True)
class Vocabulary:
    """What grammar building needs to know of a model's tokenizer: the text of each
    special token -> its id (literal pieces equal to one are emitted as that token), and
    the texts of its end-of-generation tokens. The grammar does not spell out a format's
    end-of-turn marker: wherever the grammar may end, llguidance allows the model's own
    end-of-generation tokens, and the marker is a stop string for the engine."""

    special_tokens: Mapping[str, int] = field(default_factory=dict)
    end_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ToolCallConstraint:
    """A chat turn that may (or must) call tools: the format's call syntax, the tools and
    their normalised schemas, `tool_choice` and `parallel_tool_calls`.
    `plain_text_only` makes a text reply open with a word or quote character. `resume`:
    the output already holds calls of this turn and the separator after them; the grammar
    is one further call of the block (without `calls_begin`), then the end."""

    syntax: CallSyntax
    tools: Sequence[Tool]
    schemas: Mapping[str, dict[str, Any]]
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    plain_text_only: bool = False
    resume: bool = False


@dataclass(frozen=True)
class JsonConstraint:
    """One JSON value valid against `schema` (OpenAI `response_format`)."""

    schema: dict[str, Any]


@dataclass(frozen=True)
class LarkConstraint:
    """A raw llguidance Lark grammar (`/v1/completions` with `grammar`)."""

    grammar: str


Constraint = Union[ToolCallConstraint, JsonConstraint, LarkConstraint]
"""What an engine is asked to enforce, independent of any engine's grammar dialect."""


def closed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with `additionalProperties: false` on every object that doesn't say
    otherwise, so that a constrained call cannot invent keys (OpenAI strict semantics)."""
    if not isinstance(schema, dict):
        return schema
    result = {key: _close_children(key, value) for key, value in schema.items()}
    if result.get("type") == "object" or "properties" in result:
        result.setdefault("additionalProperties", False)
    return result


def _close_children(key: str, value: Any) -> Any:
    if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
        return {name: closed_schema(sub) for name, sub in value.items()}
    if key in ("items", "not", "additionalProperties", "contains") and isinstance(value, dict):
        return closed_schema(value)
    if key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
        return [closed_schema(sub) for sub in value]
    return value


def response_format_constraint(response_format: Mapping[str, Any]) -> JsonConstraint | None:
    """The constraint for OpenAI `response_format` (json_object / json_schema); None for text."""
    kind = response_format.get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return JsonConstraint({"type": "object"})
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        return JsonConstraint(closed_schema(schema) if spec.get("strict") else schema)
    raise SchemaError(f"response_format.type: unknown type {kind!r}", param="response_format.type")
