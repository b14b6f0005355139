"""A chat request, validated: OpenAI-shaped messages, tools (or legacy functions),
`tool_choice`, response format, sampling and policies. Errors name the field."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from toolwire.chat.policies import Policies
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import RequestError, SchemaError
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.schema.relax import grammar_problem, relax_parameters
from toolwire.types import TEXT_PART, Message, Tool, ToolChoice, parse_messages, parse_tool_choice, parse_tools, tools_from_functions

__all__ = ["ChatRequest", "build_request"]

logger = logging.getLogger("toolwire.chat")


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request. `schemas` maps each tool's name to its normalised
    parameter schema; `thinking` / `reasoning_effort` reach templates that take them."""

    messages: list[Message]
    tools: list[Tool]
    schemas: dict[str, dict[str, Any]]
    tool_choice: ToolChoice
    parallel_tool_calls: bool = True
    response_format: Mapping[str, Any] | None = None
    legacy_functions: bool = False
    sampling: SamplingParams = field(default_factory=SamplingParams)
    policies: Policies = field(default_factory=Policies)
    namespaces: Mapping[str, str] = field(default_factory=dict)
    thinking: bool | None = None
    reasoning_effort: str | None = None
    notes: tuple[dict[str, Any], ...] = ()
    """What request validation changed (relaxed schemas), reported with the answer."""

    @property
    def calls_allowed(self) -> bool:
        return bool(self.tools) and self.tool_choice != "none"

    @property
    def tools_field(self) -> str:
        """Where the tools came from, for error messages: `tools` or `functions`."""
        return "functions" if self.legacy_functions else "tools"


def build_request(
    messages: Any,
    *,
    tools: Any = None,
    tool_choice: Any = None,
    parallel_tool_calls: bool | None = True,
    functions: Any = None,
    function_call: Any = None,
    response_format: Mapping[str, Any] | None = None,
    namespaces: Mapping[str, str] | None = None,
    sampling: SamplingParams | None = None,
    policies: Policies | None = None,
    thinking: bool | None = None,
    reasoning_effort: str | None = None,
) -> ChatRequest:
    """Validate an OpenAI-shaped request; errors name the field."""
    parsed_messages = parse_messages(messages)
    if not parsed_messages:
        raise RequestError("messages: must contain at least one message", param="messages")
    _text_only(parsed_messages)
    legacy = functions is not None and tools is None
    parsed_tools = tools_from_functions(functions) if legacy else parse_tools(_as_data(tools))
    names = [tool.name for tool in parsed_tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RequestError(f"tools: duplicate tool name {duplicates[0]!r}", param="tools")
    field_name = "functions" if legacy else "tools"
    schemas = {
        tool.name: normalize_parameters(tool.function.parameters, where=f"{field_name}[{i}].function.parameters")
        for i, tool in enumerate(parsed_tools)
    }
    choice_data = _legacy_choice(function_call) if legacy else _as_data(tool_choice)
    choice = parse_tool_choice(choice_data, parsed_tools)
    policies = policies or Policies()
    notes: list[dict[str, Any]] = []
    if policies.constrained and choice != "none":
        for index, tool in enumerate(parsed_tools):
            where = f"{field_name}[{index}].function.parameters"
            schemas[tool.name], changes = _enforceable(schemas[tool.name], tool.name, where, policies)
            notes += [{"policy": "schemas", "action": "relaxed", "detail": f"{where}: {change}"} for change in changes]
    if reasoning_effort is not None and reasoning_effort not in ("low", "medium", "high"):
        raise RequestError("reasoning_effort: must be 'low', 'medium' or 'high'", param="reasoning_effort")
    return ChatRequest(
        messages=parsed_messages, tools=parsed_tools, schemas=schemas, tool_choice=choice,
        parallel_tool_calls=parallel_tool_calls is not False and not legacy,
        response_format=response_format, legacy_functions=legacy, sampling=sampling or SamplingParams(),
        policies=policies, namespaces=dict(namespaces or {}), thinking=thinking,
        reasoning_effort=reasoning_effort, notes=tuple(notes),
    )


def _text_only(messages: list[Message]) -> None:
    """Raise a RequestError naming the first content part that is not text (an image, audio,
    a file): refused rather than dropped without a word."""
    for index, message in enumerate(messages):
        if not isinstance(message.content, list):
            continue
        for position, part in enumerate(message.content):
            if part.type != TEXT_PART:
                where = f"messages[{index}].content[{position}]"
                raise RequestError(f"{where}: this model takes text only; a {part.type!r} part cannot be read "
                                   "(send the text it shows instead)", param=where, code="unsupported_content")


def _enforceable(schema: dict[str, Any], name: str, where: str, policies: Policies) -> tuple[dict[str, Any], list[str]]:
    """`schema` as a grammar can enforce it (`schemas="relax"`), or an error naming the tool."""
    if policies.schemas == "relax":
        relaxed, changes = relax_parameters(schema)
        for change in changes:
            logger.warning("tool %s: %s", name, change)
        return relaxed, changes
    problem = grammar_problem(json.dumps(schema, sort_keys=True))
    if problem is not None:
        raise SchemaError(f"{where}: the schema of tool {name!r} cannot be compiled into a grammar: {problem}",
                          param=where)
    return schema, []


def _as_data(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_data(item) for item in value]
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


def _legacy_choice(function_call: Any) -> Any:
    if isinstance(function_call, dict) and "name" in function_call:
        return {"type": "function", "function": {"name": function_call["name"]}}
    return function_call
