"""OpenAI chat types: messages, tools, tool calls, and what a format parser returns.

Data only. `arguments` is a JSON string on the wire; on input a string or an object is
accepted and normalised to a JSON string. Use `parse_messages` / `parse_tools` to turn
untrusted JSON into these types with errors that name the offending field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from toolwire.errors import RequestError

__all__ = [
    "AssistantMessage",
    "ContentPart",
    "DeveloperMessage",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionMessage",
    "Message",
    "NamedToolChoice",
    "ParsedCall",
    "ParsedMessage",
    "SystemMessage",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolMessage",
    "UserMessage",
    "message_text",
    "parse_messages",
    "parse_tool_choice",
    "parse_tools",
    "tools_from_functions",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class FunctionCall(_Model):
    """A call's name and its arguments as a JSON object text."""

    name: str
    arguments: str = "{}"

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_json_text(cls, value: Any) -> str:
        if value is None:
            return "{}"
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, str):
            try:
                decoded = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError("not valid JSON") from exc
            if not isinstance(decoded, dict):
                raise ValueError("must be a JSON object")
            return value if value.strip() else "{}"
        raise ValueError("must be a JSON object or a string holding one")

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments decoded into a dict."""
        return json.loads(self.arguments)


class ToolCall(_Model):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ContentPart(_Model):
    type: str
    text: str | None = None


Content = Union[str, list[ContentPart], None]


class SystemMessage(_Model):
    role: Literal["system"] = "system"
    content: Content = None
    name: str | None = None


class DeveloperMessage(_Model):
    role: Literal["developer"] = "developer"
    content: Content = None
    name: str | None = None


class UserMessage(_Model):
    role: Literal["user"] = "user"
    content: Content = None
    name: str | None = None


class AssistantMessage(_Model):
    """An assistant turn. `reasoning_content`: the text of the model's thinking block, as
    OpenAI-compatible servers return it; templates of reasoning models render it."""

    role: Literal["assistant"] = "assistant"
    content: Content = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    name: str | None = None

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _empty_calls_are_none(cls, value: Any) -> Any:
        return value or None

    def calls(self) -> list[FunctionCall]:
        """Every call of this turn: `tool_calls`, or the legacy `function_call`."""
        if self.tool_calls:
            return [call.function for call in self.tool_calls]
        return [self.function_call] if self.function_call else []


class ToolMessage(_Model):
    role: Literal["tool"] = "tool"
    content: Content = None
    tool_call_id: str | None = None
    name: str | None = None


class FunctionMessage(_Model):
    """The legacy `function` role: the result of a `function_call`."""

    role: Literal["function"] = "function"
    name: str
    content: Content = None


Message = Annotated[
    Union[SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage],
    Field(discriminator="role"),
]


class FunctionDefinition(_Model):
    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Model):
    type: Literal["function"] = "function"
    function: FunctionDefinition

    @property
    def name(self) -> str:
        return self.function.name


class NamedToolChoice(_Model):
    type: Literal["function"] = "function"
    function: dict[str, str]

    @field_validator("function")
    @classmethod
    def _has_name(cls, value: dict[str, str]) -> dict[str, str]:
        if not value.get("name"):
            raise ValueError("needs a 'name'")
        return value

    @property
    def name(self) -> str:
        return self.function["name"]


ToolChoice = Union[Literal["none", "auto", "required"], NamedToolChoice]


@dataclass
class ParsedCall:
    """One call read from model output. `arguments` is JSON object text; while a call is
    still being written (`complete` False) it is a prefix of the final text."""

    name: str
    arguments: str
    complete: bool = True
    id: str | None = None

    def parsed_arguments(self) -> dict[str, Any]:
        return json.loads(self.arguments)


@dataclass
class ParsedMessage:
    """What a format parser reads from model output: reasoning (the text of the format's
    thinking block, without its markers), content text and calls, in order.

    For partial text, `reasoning`, `content` and each call's `arguments` only ever grow by
    appending as more text arrives, and a call appears only once its full name is known.
    """

    content: str = ""
    calls: list[ParsedCall] = field(default_factory=list)
    reasoning: str = ""

    def to_assistant(self, ids: Sequence[str] | None = None) -> AssistantMessage:
        """The OpenAI assistant message for this output (content None when empty)."""
        tool_calls = [
            ToolCall(
                id=(ids[i] if ids else call.id) or f"call_{i}",
                function=FunctionCall(name=call.name, arguments=call.arguments),
            )
            for i, call in enumerate(self.calls)
        ]
        return AssistantMessage(content=self.content or None, tool_calls=tool_calls or None)


TEXT_PART = "text"
"""The one content part type a text-only model reads (`chat.request` refuses the others)."""


def message_text(content: Content) -> str:
    """The text of a message's content: a string, or its text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text or "" for part in content if part.type == TEXT_PART)


_ROLE_TAGS = {"system", "developer", "user", "assistant", "tool", "function"}


def _field_path(prefix: str, loc: Sequence[Any], *, tagged: bool = False) -> str:
    """`messages` + (3, 'assistant', 'tool_calls', 0) -> `messages[3].tool_calls[0]`.

    In a `tagged` union (messages) pydantic puts the discriminator's value (the role) after
    the list index; it is dropped."""
    path = prefix
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif not (tagged and position == 1 and part in _ROLE_TAGS):
            path += f".{part}"
    return path


def _validation_error(prefix: str, error: ValidationError, *, tagged: bool = False) -> RequestError:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    path = _field_path(prefix, first["loc"], tagged=tagged)
    return RequestError(f"{path}: {message}", param=path)


_messages_adapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
_tools_adapter: TypeAdapter[list[Tool]] = TypeAdapter(list[Tool])
_tool_choice_adapter: TypeAdapter[ToolChoice] = TypeAdapter(ToolChoice)
_functions_adapter: TypeAdapter[list[FunctionDefinition]] = TypeAdapter(list[FunctionDefinition])


def parse_messages(data: Any) -> list[Message]:
    """Validate untrusted `messages` JSON; errors name the field, e.g.
    `messages[3].tool_calls[0].function.arguments: not valid JSON`."""
    try:
        return _messages_adapter.validate_python(data)
    except ValidationError as exc:
        raise _validation_error("messages", exc, tagged=True) from None


def parse_tools(data: Any) -> list[Tool]:
    """Validate untrusted `tools` JSON."""
    try:
        return _tools_adapter.validate_python(data or [])
    except ValidationError as exc:
        raise _validation_error("tools", exc) from None


def tools_from_functions(data: Any) -> list[Tool]:
    """Turn the legacy `functions` list into tools."""
    try:
        functions = _functions_adapter.validate_python(data or [])
    except ValidationError as exc:
        raise _validation_error("functions", exc) from None
    return [Tool(function=function) for function in functions]


def parse_tool_choice(data: Any, tools: Sequence[Tool]) -> ToolChoice:
    """Validate `tool_choice` against the request's tools (a named tool must exist)."""
    if data is None:
        return "auto" if tools else "none"
    try:
        choice = _tool_choice_adapter.validate_python(data)
    except ValidationError:
        raise RequestError(
            "tool_choice: must be 'none', 'auto', 'required' or "
            "{'type': 'function', 'function': {'name': ...}}",
            param="tool_choice",
        ) from None
    if isinstance(choice, NamedToolChoice) and choice.name not in {tool.name for tool in tools}:
        raise RequestError(
            f"tool_choice: no tool named {choice.name!r} in tools", param="tool_choice"
        )
    if choice == "required" and not tools:
        raise RequestError("tool_choice: 'required' needs at least one tool", param="tool_choice")
    return choice
