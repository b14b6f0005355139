"""Qwen3-Coder (and Qwen3.5) tool calls: a function with one XML parameter per argument,
rendered as Qwen3-Coder's chat template does.

Wire text of an assistant turn (after `<|im_start|>assistant\\n`)::

    Let me check.

    <tool_call>
    <function=plan_trip>
    <parameter=city>
    Paris
    </parameter>
    <parameter=stops>
    [{"city": "Lyon", "nights": 2}]
    </parameter>
    </function>
    </tool_call><|im_end|>

String parameters are raw text; other values are JSON, typed by the tool's schema
(`_xml_calls`), so arrays of objects and values holding `</parameter>` read whole. Tools
are described in the system turn as XML (`<function><name>…<parameters><parameter>…`),
results come back in `user` turns as `<tool_response>` blocks.

Qwen3.5 models write the same calls after a `<think>` block; it is read as reasoning
(`_reasoning`) when present. Deliberate differences from the template: `render_reply`
and the grammar write non-string scalars as JSON (`true`, `null`) where the template
writes Python's `True`, `None` (the parser reads both); the template shows no reasoning
in the history, and neither does `render`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from toolwire.formats._reasoning import THINK, parse_with_reasoning, think_block
from toolwire.formats._xml_calls import parse_parameter_calls, render_calls
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ParameterSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["Qwen3CoderFormat"]

DEFAULT_SYSTEM = "You are Qwen, a helpful AI assistant that can interact with a computer to solve tasks."
CALL_INSTRUCTIONS = (
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n"
    "<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
    "- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested "
    "within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n"
    "- You may provide optional reasoning for your function call in natural language BEFORE the function call, "
    "but NOT after\n- If there is no function call available, answer the question like normal with your current "
    "knowledge and do not tell the user about function calls\n</IMPORTANT>"
)


def _extra_keys(fields: Any, handled: Sequence[str]) -> str:
    """Schema keys the template writes as `<key>value</key>` (JSON for containers)."""
    if not isinstance(fields, Mapping):
        return ""
    out = []
    for key, value in fields.items():
        if key in handled:
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (Mapping, list, tuple)) else str(value)
        out.append(f"\n<{key}>{text}</{key}>")
    return "".join(out)


def _tool_xml(tool: Tool) -> str:
    function = tool.model_dump(exclude_none=True)["function"]
    parts = [f"\n<function>\n<name>{function['name']}</name>"]
    if "description" in function:
        parts.append(f"\n<description>{function['description'].strip()}</description>")
    parts.append("\n<parameters>")
    parameters = function.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
    if isinstance(properties, Mapping):
        for name, fields in properties.items():
            parts.append(f"\n<parameter>\n<name>{name}</name>")
            if isinstance(fields, Mapping) and "type" in fields:
                parts.append(f"\n<type>{fields['type']}</type>")
            if isinstance(fields, Mapping) and "description" in fields:
                parts.append(f"\n<description>{str(fields['description']).strip()}</description>")
            parts.append(_extra_keys(fields, ("name", "type", "description")) + "\n</parameter>")
    parts.append(_extra_keys(parameters, ("type", "properties")) + "\n</parameters>")
    parts.append(_extra_keys(function, ("type", "name", "description", "parameters")) + "\n</function>")
    return "".join(parts)


def _template_value(value: Any) -> str:
    """An argument as the template writes it: raw strings, JSON containers, Python scalars."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


class Qwen3CoderFormat(Format):
    name = "qwen3-coder"
    syntax = CallSyntax(
        call=("<tool_call>\n<function=", NAME, ">\n", ARGUMENTS, "</function>\n</tool_call>"),
        arguments="parameters",
        parameters=ParameterSyntax("<parameter=", ">\n", "\n</parameter>\n"),
        separator="\n",
        text_to_calls="\n\n",
        end="<|im_end|>",
        stops=("<|im_end|>", "<|endoftext|>"),
        trigger="<tool_call>",
        reasoning=THINK,
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
        shown = list(tools) if options.describe_tools else []
        parts: list[str] = []
        if system is not None or shown:
            parts.append("<|im_start|>system\n" + (system if system is not None else DEFAULT_SYSTEM))
        if shown:
            listed = "".join(_tool_xml(tool) for tool in shown)
            parts.append("\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>" + listed + "\n</tools>")
            parts.append(CALL_INSTRUCTIONS)
        if parts:
            parts.append("<|im_end|>\n")
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage) and message.calls():
                parts.append("<|im_start|>assistant" + self._history_calls(message) + "<|im_end|>\n")
            elif isinstance(message, ToolMessage) or message.role == "function":
                if index > 0 and rest[index - 1].role not in ("tool", "function"):
                    parts.append("<|im_start|>user\n")
                parts.append(f"<tool_response>\n{message_text(message.content)}\n</tool_response>\n")
                if index == len(rest) - 1 or rest[index + 1].role not in ("tool", "function"):
                    parts.append("<|im_end|>\n")
            else:
                role = "system" if message.role == "developer" else message.role
                parts.append(f"<|im_start|>{role}\n{message_text(message.content)}<|im_end|>\n")
        if options.add_generation_prompt:
            parts.append("<|im_start|>assistant\n")
        return "".join(parts)

    def _history_calls(self, message: AssistantMessage) -> str:
        content = message_text(message.content).strip()
        parts = [f"\n{content}\n"] if content else []
        for call in message.calls():
            arguments = "".join(f"<parameter={key}>\n{_template_value(value)}\n</parameter>\n"
                                for key, value in call.parsed_arguments().items())
            parts.append(f"\n<tool_call>\n<function={call.name}>\n{arguments}</function>\n</tool_call>")
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        answer = render_calls(message, self.syntax)
        return think_block(message.reasoning_content) + answer if message.reasoning_content else answer

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_parameter_calls(answer, self.syntax, tools, partial=partial))
