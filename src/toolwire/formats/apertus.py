"""Apertus tool calls (Swiss AI Apertus): a JSON list of `{"NAME": {arguments}}` objects
between `<|tools_prefix|>` and `<|tools_suffix|>`, after optional inner thoughts, rendered
as Apertus-8B-Instruct's chat template does.

Wire text of an assistant turn (after `<|assistant_start|>`), deliberation on::

    <|inner_prefix|>The user wants the weather.<|inner_suffix|>Let me check.<|tools_prefix|>[{"get_weather": {"city": "Paris"}}, {"get_time": {}}]<|tools_suffix|>

A prompt with tools, a call and its result::

    <|system_start|>Be brief.<|system_end|><|developer_start|>Deliberation: disabled\\nTool Capabilities:\\n// Get the current weather\\ntype get_weather = (_: {\\n// The city\\ncity: string,\\nunit?: "celsius" | "fahrenheit"\\n}) => any;<|developer_end|><|user_start|>Weather in Paris?<|user_end|><|assistant_start|><|tools_prefix|>[{"get_weather": {"city": "Paris"}}]<|tools_suffix|>[sunny]<|assistant_start|>

Results are written inside the assistant's turn, as a list after its calls, and the turn
goes on; `<|assistant_end|>` closes it before the next user turn. Deliberation (thinking)
is switched in the developer turn (`RenderOptions.thinking`; templates read
`enable_thinking`); the reasoning is the text of an `<|inner_prefix|>` block at the start
of the reply, and a `<|tools_prefix|>` inside it is reasoning. Tools are described as
TypeScript-like types by a port of the template's macro (the template's odd line breaks
in nested object types included). Without a system message the template's default, with
today's date, is used.

The template as published reads each tool's `name`, `description` and `parameters` at
its top level (llama.cpp later changed it to OpenAI's `function` object) and fails on a
missing description; `template_input` passes it each tool's function, with an empty
description where there is none. A list that does not parse is content from its first bad
element (all of it when no call came before).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats._scan import CallStatus, held_back, read_call_array, read_json_arguments, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions
from toolwire.types import (
    AssistantMessage,
    FunctionMessage,
    Message,
    ParsedCall,
    ParsedMessage,
    Tool,
    ToolMessage,
    UserMessage,
    message_text,
)

__all__ = ["ApertusFormat", "render_tools"]

CALLS_BEGIN = "<|tools_prefix|>"
CALLS_END = "<|tools_suffix|>"
INNER = "<|inner_prefix|>"
END_INNER = "<|inner_suffix|>"
ASSISTANT = "<|assistant_start|>"
END = "<|assistant_end|>"
_NESTED_BREAK = "\n                "  # what the template's macro prints inside nested object types


def default_system_prompt(today: str | None = None) -> str:
    """The template's system prompt when there is none (`today`: YYYY-MM-DD, default now)."""
    return ("You are Apertus, a helpful assistant created by the SwissAI initiative.\nKnowledge cutoff: 2024-04\n"
            "Current date: " + (today or datetime.now().strftime("%Y-%m-%d")))


# --- tools as the template's TypeScript-like types ------------------------------------------


def _type(spec: Any) -> str:
    """The template's `render_typescript_type`."""
    spec = spec if isinstance(spec, dict) else {}
    kind = spec.get("type")
    null = " | null" if spec.get("nullable") else ""
    if kind == "array":
        items = spec.get("items")
        if not items:
            return "any[]" + null
        simple = {"string": "string[]", "number": "number[]", "integer": "number[]", "boolean": "boolean[]"}
        if items.get("type") in simple:
            return simple[items["type"]] + null
        inner = _type(items)
        return ("any[]" if inner == "object | object" or len(inner) > 50 else inner + "[]") + null
    if isinstance(kind, list) and kind:
        return " | ".join(str(item) for item in kind)
    if spec.get("oneOf"):
        variants = spec["oneOf"]
        if len(variants) > 1 and any(isinstance(v, dict) and v.get("type") == "object" for v in variants):
            return "any"
        return " | ".join(_type(variant) for variant in variants)
    if kind == "string":
        if spec.get("enum"):
            return '"' + '" | "'.join(str(value) for value in spec["enum"]) + '"'
        return "string" + null
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "object":
        properties = spec.get("properties")
        if not properties:
            return "object"
        required = spec.get("required") or []
        fields = [f"{name}{'' if name in required else '?'}: {_NESTED_BREAK}{_type(sub)}" for name, sub in properties.items()]
        return "{\n" + ", ".join(fields) + "}"
    return "any"


def _default(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return ""
    if spec.get("enum"):
        return f", // default: {spec['default']}"
    if spec.get("oneOf"):
        return f"// default: {spec['default']}"
    return f", // default: {json.dumps(spec['default'], ensure_ascii=False)}"


def render_tools(tools: Sequence[Tool]) -> str:
    """The template's `render_tools`: each tool as `// description` and a TypeScript type."""
    blocks = []
    for tool in tools:
        parameters = tool.function.parameters or {}
        properties = parameters.get("properties") or {}
        text = f"// {tool.function.description or ''}\ntype {tool.name} = "
        if not properties:
            blocks.append(text + "() => any;")
            continue
        required = parameters.get("required") or []
        lines = []
        for name, spec in properties.items():
            spec = spec if isinstance(spec, dict) else {}
            comment = f"// {spec['description']}\n" if spec.get("description") else ""
            lines.append(f"{comment}{name}{'' if name in required else '?'}: {_type(spec)}{_default(spec)}")
        blocks.append(text + "(_: {\n" + ",\n".join(lines) + "\n}) => any;")
    return "\n".join(blocks)


# --- the format -------------------------------------------------------------------------------


def _call_object(name: str, arguments: dict[str, Any]) -> str:
    return "{" + json.dumps(name, ensure_ascii=False) + ": " + json.dumps(arguments, ensure_ascii=False) + "}"


def _string_end(text: str, start: int) -> int | None:
    """The index after the JSON string opening at `text[start]`, or None if it is open."""
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == '"':
            return index + 1
        else:
            index += 1
    return None


def _read_named_call(text: str, index: int, partial: bool) -> tuple[CallStatus, ParsedCall | None, int]:
    """`{"NAME": {arguments}}` at `text[index]`."""
    if not text.startswith("{", index):
        return ("pending", None, len(text)) if partial and index == len(text) else ("invalid", None, index)
    key_start = skip_space(text, index + 1)
    if partial and key_start == len(text):
        return "pending", None, len(text)
    try:
        name, key_end = json.JSONDecoder().raw_decode(text, key_start)
    except ValueError:
        unfinished = partial and text.startswith('"', key_start) and _string_end(text, key_start) is None
        return ("pending", None, len(text)) if unfinished else ("invalid", None, index)
    colon = skip_space(text, key_end)
    if not isinstance(name, str) or not name or (colon < len(text) and text[colon] != ":"):
        return "invalid", None, index
    if colon == len(text):
        return ("pending", None, len(text)) if partial else ("invalid", None, index)
    status, arguments, end = read_json_arguments(text, colon + 1, partial=partial)
    if status == "invalid":
        return "invalid", None, index
    if status == "pending":
        return "pending", ParsedCall(name, arguments, complete=False), len(text)
    close = skip_space(text, end)
    if text.startswith("}", close):
        return "call", ParsedCall(name, arguments), close + 1
    if partial and close == len(text):
        return "pending", ParsedCall(name, arguments, complete=False), len(text)
    return "invalid", None, index


class ApertusFormat(Format):
    name = "apertus"
    syntax = CallSyntax(
        call=('{"', NAME, '": ', ARGUMENTS, "}"),
        calls_begin=CALLS_BEGIN + "[",
        separator=", ",
        calls_end="]" + CALLS_END,
        end=END,
        stops=(END,),
        trigger=CALLS_BEGIN,
        reasoning=ReasoningSyntax(INNER, END_INNER),
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        system = options.system_prompt
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        parts = [f"<|system_start|>{default_system_prompt() if system is None else system}<|system_end|>"]
        capabilities = "Tool Capabilities:\n" + render_tools(tools) if tools and options.describe_tools else "Tool Capabilities: disabled"
        parts.append(f"<|developer_start|>Deliberation: {'enabled' if options.thinking else 'disabled'}\n{capabilities}<|developer_end|>")
        in_assistant = in_results = False
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                if not in_assistant:
                    parts.append(ASSISTANT)
                    in_assistant = True
                if in_results and message.content is not None:
                    parts.append("]")
                    in_results = False
                if message.reasoning_content:
                    parts.append(INNER + message.reasoning_content + END_INNER)
                parts.append(text)
                calls = message.calls()
                if calls:
                    parts.append(CALLS_BEGIN + "[" + ", ".join(_call_object(c.name, c.parsed_arguments()) for c in calls)
                                 + "]" + CALLS_END)
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(", " if in_results else "[")
                in_results = True
                parts.append(text)
            else:
                if in_results:
                    parts.append("]")
                    in_results = False
                if in_assistant:
                    parts.append(END)
                    in_assistant = False
                if isinstance(message, UserMessage):
                    parts.append(f"<|user_start|>{text}<|user_end|>")
                else:
                    parts.append(f"<|system_start|>{text}<|system_end|>")
        if in_results:
            parts.append("]")
        if options.add_generation_prompt:
            parts.append(ASSISTANT)
        return "".join(parts)

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Each tool as its function object, with a description (see the module docstring);
        reasoning as the template writes it, in content blocks (`thoughts`, then the
        `response`, which closes them), in every assistant turn once one has reasoning
        (the template refuses turns of both shapes)."""
        tools = [{"description": "", **tool.get("function", tool)} for tool in tools]
        if not any(message.get("reasoning_content") for message in messages if message.get("role") == "assistant"):
            return messages, tools
        adapted = []
        for message in messages:
            if message.get("role") == "assistant":
                blocks = [{"type": "thoughts", "text": message["reasoning_content"]}] if message.get("reasoning_content") else []
                blocks.append({"type": "response", "text": message.get("content") or ""})
                message = {key: value for key, value in message.items() if key not in ("reasoning_content", "thinking")}
                message["content"] = {"blocks": blocks}
            adapted.append(message)
        return adapted, tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """The inner thoughts (the reasoning), the text, then the calls."""
        calls = message.calls()
        listed = ", ".join(_call_object(call.name, call.parsed_arguments()) for call in calls)
        thought = INNER + message.reasoning_content + END_INNER if message.reasoning_content else ""
        return thought + message_text(message.content) + (f"{CALLS_BEGIN}[{listed}]{CALLS_END}" if calls else "")

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial, parse_answer=lambda answer: _parse_answer(answer, partial)
        )


def _parse_answer(text: str, partial: bool) -> ParsedMessage:
    marker = text.find(CALLS_BEGIN)
    if marker < 0:
        return ParsedMessage(content=text[:len(text) - held_back(text, [CALLS_BEGIN])] if partial else text)
    start = skip_space(text, marker + len(CALLS_BEGIN))
    if partial and start == len(text):
        return ParsedMessage(content=text[:marker])
    calls, status, end = read_call_array(text, start, partial=partial, read_call=_read_named_call)
    result = ParsedMessage(content=text[:marker], calls=calls)
    if status == "invalid":
        result.content += text[end:] if calls else text[marker:]
    elif status == "call":
        close = skip_space(text, end)
        if text.startswith(CALLS_END, close):
            result.content += text[close + len(CALLS_END):]
        elif not (partial and CALLS_END.startswith(text[close:])):
            result.content += text[end:]
    return result
