"""Gemma 4 tool calls: `call:NAME{...}` between `<|tool_call>` and `<tool_call|>`,
arguments in Gemma's syntax with `<|"|>` around strings, after an optional thought
channel, rendered as Google's gemma-4 chat template does.

Wire text of an assistant turn (after `<|turn>model\\n`), thinking on::

    <|channel>thought\\nThe user wants the weather.<channel|>Let me check.<|tool_call>call:get_weather{city:<|"|>Paris<|"|>,days:3}<tool_call|><|tool_response>

With thinking off the template already wrote the empty channel
`<|channel>thought\\n<channel|>` into the generation prompt, and the reply starts after it.
A turn that calls tools ends with `<|tool_response>` (the model asks for the results: the
calls' closing marker here); a text turn with `<turn|>`. A prompt with tools, a call and its result::

    <|turn>system\\nBe brief.<|tool>declaration:get_weather{description:<|"|>Get the current weather<|"|>,parameters:{properties:{city:{description:<|"|>The city<|"|>,type:<|"|>STRING<|"|>}},required:[<|"|>city<|"|>],type:<|"|>OBJECT<|"|>}}<tool|><turn|>\\n<|turn>user\\nWeather in Paris?<turn|>\\n<|turn>model\\n<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|><|tool_response>response:get_weather{value:<|"|>sunny<|"|>}<tool_response|>

The results are written inside the model's turn, which goes on after them (no new
`<|turn>model`). Thinking is turned on by `<|think|>` at the top of the system turn
(`RenderOptions.thinking`; templates read `enable_thinking`). The reasoning is the text of
the thought channel at the start of the reply; a `<|tool_call>` inside it is reasoning.
Text may precede the calls. Arguments: see `_gemma` (keys sorted, strings never escaped,
so a string cannot contain `<|"|>`).

A past turn's reasoning is written, as the template does, only for a turn with calls after
the last user message (the thinking of the turn under way).

Deliberate differences from the template: a null argument is written `null` (the template
prints Python's `None`, which the parser also reads), and a tool's declaration is written
by toolwire's port of the template's macros, which covers what OpenAI tools use
(descriptions, types, enums, nested properties, array items, required, nullable).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from toolwire.formats._gemma import GemmaCalls, write_arguments
from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions
from toolwire.types import (
    AssistantMessage,
    FunctionMessage,
    Message,
    ParsedMessage,
    Tool,
    ToolMessage,
    UserMessage,
    message_text,
)

__all__ = ["Gemma4Format"]

QUOTE = '<|"|>'
CALL_START = "<|tool_call>"
CALL_END = "<tool_call|>"
CALL_HEAD = CALL_START + "call:"
RESPONSE = "<|tool_response>"
END = "<turn|>"
THOUGHT = "<|channel>thought\n"
CHANNEL_END = "<channel|>"
CALLS = GemmaCalls(CALL_START, CALL_END, QUOTE, closing=RESPONSE)
_STANDARD_KEYS = ("description", "type", "properties", "required", "nullable")


def _quoted(text: str) -> str:
    return QUOTE + text + QUOTE


def _upper(value: Any) -> str:
    """Jinja's `upper` filter: a list prints as its Python repr."""
    return str(value).upper()


def _template_value(value: Any) -> str:
    """The template's `format_argument`: Python's printing for numbers and None."""
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quoted(key)}:{_template_value(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_template_value(item) for item in value) + "]"
    return str(value)


def _parameters(properties: Mapping[str, Any]) -> str:
    """The template's `format_parameters`: each property, sorted, as `name:{...}`."""
    fields = []
    for key in sorted(properties):
        if key in _STANDARD_KEYS:
            continue
        value = properties[key] if isinstance(properties[key], dict) else {}
        kind = _upper(value.get("type"))
        parts = []
        if value.get("description"):
            parts.append(f"description:{_quoted(value['description'])}")
        if kind == "STRING" and value.get("enum"):
            parts.append(f"enum:{_template_value(value['enum'])}")
        elif kind == "ARRAY" and isinstance(value.get("items"), dict) and value["items"]:
            parts.append("items:{" + _items(value["items"]) + "}")
        if value.get("nullable"):
            parts.append("nullable:true")
        if kind == "OBJECT":
            if isinstance(value.get("properties"), dict):
                parts.append("properties:{" + _parameters(value["properties"]) + "}")
            else:
                parts.append("properties:{" + _parameters(value) + "}")
            if value.get("required"):
                parts.append("required:[" + ",".join(_quoted(item) for item in value["required"]) + "]")
        parts.append(f"type:{_quoted(kind)}")
        fields.append(key + ":{" + ",".join(parts) + "}")
    return ",".join(fields)


def _items(items: Mapping[str, Any]) -> str:
    parts = []
    for key in sorted(items):
        value = items[key]
        if value is None:
            continue
        if key == "properties":
            parts.append("properties:{" + (_parameters(value) if isinstance(value, dict) else "") + "}")
        elif key == "required":
            parts.append("required:[" + ",".join(_quoted(item) for item in value) + "]")
        elif key == "type":
            parts.append("type:" + (_quoted(value.upper()) if isinstance(value, str)
                                    else _template_value([str(item).upper() for item in value])))
        else:
            parts.append(f"{key}:{_template_value(value)}")
    return ",".join(parts)


def _declaration(tool: Tool) -> str:
    """The template's `format_function_declaration`."""
    text = f"declaration:{tool.name}{{description:{_quoted(tool.function.description or '')}"
    params = tool.function.parameters
    if params:
        text += ",parameters:{"
        if params.get("properties"):
            text += "properties:{" + _parameters(params["properties"]) + "},"
        if params.get("required"):
            text += "required:[" + ",".join(_quoted(item) for item in params["required"]) + "],"
        if params.get("type"):
            text += f"type:{_quoted(_upper(params['type']))}}}"
    return text.strip() + "}"


def _response(name: str, content: str) -> str:
    return f"{RESPONSE}response:{name}{{value:{_quoted(content)}}}<tool_response|>"


def _strip_thinking(text: str) -> str:
    """The template's `strip_thinking`: a past reply without its thought channels."""
    kept = "".join(part.split("<|channel>")[0] if "<|channel>" in part else part for part in text.split(CHANNEL_END))
    return kept.strip()


class Gemma4Format(Format):
    name = "gemma-4"
    syntax = CallSyntax(
        call=(CALL_HEAD, NAME, ARGUMENTS, CALL_END),
        arguments="gemma",
        string_delimiter=QUOTE,
        separator="",
        calls_end=RESPONSE,
        end=END,
        stops=(END,),
        trigger=CALL_START,
        reasoning=ReasoningSyntax(THOUGHT, CHANNEL_END),
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        shown = list(tools) if options.describe_tools else []
        system = options.system_prompt
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        parts: list[str] = []
        after = ""  # what the last message left: "call", "response" or ""
        if options.thinking or shown or system is not None:
            parts.append("<|turn>system\n" + ("<|think|>\n" if options.thinking else "") + (system or "").strip())
            parts.extend(f"<|tool>{_declaration(tool)}<tool|>" for tool in shown)
            parts.append(END + "\n")
        previous = ""
        last_user = max((index for index, message in enumerate(rest) if isinstance(message, UserMessage)), default=-1)
        for index, message in enumerate(rest):
            if isinstance(message, (ToolMessage, FunctionMessage)):
                continue  # written inside the turn of the calls they answer
            after = ""
            role = "model" if isinstance(message, AssistantMessage) else ("system" if message.role == "developer" else message.role)
            if not (role == "model" and previous == "assistant"):
                parts.append(f"<|turn>{role}\n")
            previous = message.role
            text = message_text(message.content)
            if not isinstance(message, AssistantMessage):
                parts.append(text.strip() + END + "\n")
                continue
            calls = [(call.id, call.function) for call in message.tool_calls or []]
            calls = calls or [(call.name, call) for call in message.calls()]
            if calls and message.reasoning_content and index > last_user:
                # the thinking of the current turn's calls, as the template keeps it
                parts.append(THOUGHT + message.reasoning_content + "\n" + CHANNEL_END)
            parts.extend(f"{CALL_HEAD}{call.name}{write_arguments(call.parsed_arguments(), QUOTE)}{CALL_END}"
                         for _, call in calls)
            after = "call" if calls else ""
            responses = 0
            if calls:
                names = {call_id: call.name for call_id, call in calls}
                for result in rest[index + 1:]:
                    if not isinstance(result, (ToolMessage, FunctionMessage)):
                        break
                    call_id = result.tool_call_id if isinstance(result, ToolMessage) else None
                    name = names.get(call_id or "") or result.name or "unknown"
                    parts.append(_response(name, message_text(result.content)))
                    responses += 1
                    after = "response"
            parts.append(_strip_thinking(text))
            if after == "call":
                parts.append(RESPONSE)
            elif not (responses and not text):
                parts.append(END + "\n")
        if options.add_generation_prompt and after not in ("call", "response"):
            parts.append("<|turn>model\n" + ("" if options.thinking else THOUGHT + CHANNEL_END))
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then the calls and `<|tool_response>`."""
        calls = "".join(f"{CALL_HEAD}{call.name}{write_arguments(call.parsed_arguments(), QUOTE)}{CALL_END}"
                        for call in message.calls())
        return message_text(message.content) + (calls + RESPONSE if calls else "")

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: CALLS.parse(answer, partial=partial, tools=tools),
        )
