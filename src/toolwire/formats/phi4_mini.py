"""Phi-4-mini tool calls: a JSON list of calls after the word `functools`, rendered as
vLLM's Phi-4-mini chat template (`tool_chat_template_phi4_mini.jinja`) does.

Wire text of an assistant turn (after `<|assistant|>`)::

    functools[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]<|end|>

A prompt with tools, a call and its result::

    <|system|>\\nBe brief.In addition to plain text responses, you can choose to call one or more of the provided functions. ... the user intent{\\n    "type": "function",\\n    ...\\n}\\n\\n<|end|><|user|>Weather in Paris?<|end|><|assistant|>{"name": "get_weather", "arguments": {"city": "Paris"}}<|end|><|tool|>sunny<|end|><|assistant|>

(the system prompt's missing line breaks are the template's). The template writes past
calls without `functools[...]`, as JSON objects joined by `,`; the parser reads both
shapes, and text before `functools` (the marker is plain text, so text may hold it only as
the start of calls). `"parameters"` is read for `"arguments"`. Deliberate difference: the
template drops a past turn's calls when it also has text; toolwire writes the text, then
the calls. A list that does not parse is content from its first bad element (all of it
when no call came before).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from toolwire.formats._scan import held_back, read_call_array, read_json_call, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.types import AssistantMessage, FunctionMessage, Message, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["Phi4MiniFormat"]

MARKER = "functools"
END = "<|end|>"
DEFAULT_SYSTEM = "You are a helpful assistant."
TOOLS_INSTRUCTIONS = (
    "In addition to plain text responses, you can choose to call one or more of the provided functions.\n\n"
    "Use the following rule to decide when to call a function:\n"
    '  * if the response can be generated from your internal knowledge (e.g., as in the case of queries like '
    '"What is the capital of Poland?"), do so\n'
    "  * if you need external information that can be obtained by calling one or more of the provided "
    "functions, generate a function calls\n\n"
    "If you decide to call functions:\n"
    "  * prefix function calls with functools marker (no closing marker required)\n"
    '  * all function calls should be generated in a single JSON list formatted as functools[{"name": '
    '[function name], "arguments": [function arguments as JSON]}, ...]\n'
    "  * follow the provided JSON schema. Do not hallucinate arguments or values. Do to blindly copy values "
    "from the provided samples\n"
    "  * respect the argument type formatting. E.g., if the type is number and format is float, write value "
    "7 as 7.0\n"
    "  * make sure you pick the right functions that match the user intent"
)
ARGUMENT_KEYS = ("arguments", "parameters")


def _call_object(name: str, arguments: dict[str, Any]) -> str:
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)


def _read_call(text: str, index: int, partial: bool) -> Any:
    return read_json_call(text, index, partial=partial, argument_keys=ARGUMENT_KEYS)


class Phi4MiniFormat(Format):
    name = "phi-4-mini"
    syntax = CallSyntax(
        call=('{"name": "', NAME, '", "arguments": ', ARGUMENTS, "}"),
        calls_begin=MARKER + "[",
        separator=", ",
        calls_end="]",
        end=END,
        stops=(END, "<|endoftext|>"),
        trigger=MARKER + "[",
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        system = options.system_prompt or DEFAULT_SYSTEM
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content).strip()
        if not rest:
            return f"<|system|>\n\n{system}{END}<|assistant|>" if options.add_generation_prompt else f"<|system|>\n\n{system}{END}"
        parts = [f"<|system|>\n{system}"]
        if tools and options.describe_tools:
            parts.append(TOOLS_INSTRUCTIONS)
            parts.extend(json.dumps(tool.model_dump(exclude_none=True), indent=4, ensure_ascii=False) + "\n\n"
                         for tool in tools)
        parts.append(END)
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                calls = ",".join(_call_object(call.name, call.parsed_arguments()) for call in message.calls())
                parts.append(f"<|assistant|>{text}{calls}{END}")
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(f"<|tool|>{text}{END}")
            elif message.role in ("system", "developer"):
                continue  # the template leaves later system messages out
            else:
                parts.append(f"<|{message.role}|>{text}{END}")
        if options.add_generation_prompt:
            parts.append("<|assistant|>")
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then `functools[...]`."""
        calls = ", ".join(_call_object(call.name, call.parsed_arguments()) for call in message.calls())
        return message_text(message.content) + (f"{MARKER}[{calls}]" if calls else "")

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        start = skip_space(text, 0)
        if partial and start == len(text):
            return ParsedMessage()  # only whitespace: calls may still open with `{`
        if text.startswith("{", start):
            return self._read_objects(text, start, partial)
        marker = text.find(MARKER + "[")
        if marker < 0:
            return ParsedMessage(content=text[:len(text) - held_back(text, [MARKER + "["])] if partial else text)
        calls, status, end = read_call_array(text, marker + len(MARKER), partial=partial, read_call=_read_call)
        result = ParsedMessage(content=text[:marker], calls=calls)
        if status == "call":
            result.content += text[end:]
        elif status == "invalid":
            result.content += text[end if calls else marker:]
        return result

    def _read_objects(self, text: str, index: int, partial: bool) -> ParsedMessage:
        """Call objects joined by commas, as the template writes past calls."""
        result = ParsedMessage()
        while True:
            status, call, end = _read_call(text, index, partial)
            if status == "pending":
                result.calls += [call] if call else []
                return result
            if status == "invalid" or call is None:
                result.content = text[index:] if result.calls else text
                return result
            result.calls.append(call)
            index = skip_space(text, end)
            if text.startswith(",", index):
                index = skip_space(text, index + 1)
                if index < len(text) or not partial:
                    continue
                return result
            result.content = text[index:]
            return result
