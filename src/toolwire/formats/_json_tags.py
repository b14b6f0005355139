"""JSON calls inside tags, as Hermes 2 Pro taught them and Qwen2.5/Qwen3, Granite 4 and
SmolLM3 write them::

    Let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>
    <tool_call>
    {"name": "get_time", "arguments": {}}
    </tool_call>

Text may come before the calls; calls are separated by a newline. The JSON is read with
`raw_decode` (`_scan.read_json_call`), not a regex, because arguments may themselves
contain `</tool_call>`; arguments are the top-level `"arguments"` (or `"parameters"`)
member exactly as written, and `NaN` or `Infinity` is not JSON. A call whose JSON does not
parse stays in the content, with everything after it.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from toolwire.formats._scan import held_back, read_json_call, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, ReasoningSyntax
from toolwire.types import AssistantMessage, ParsedCall, ParsedMessage, Tool, message_text

__all__ = [
    "CALL_CLOSE",
    "CALL_OPEN",
    "QWEN_TOOLS_INTRO",
    "QWEN_TOOLS_OUTRO",
    "call_text",
    "parse_tagged_calls",
    "tagged_reply",
    "tagged_syntax",
    "tool_lines",
]

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
ARGUMENT_KEYS = ("arguments", "parameters")
QWEN_TOOLS_INTRO = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
QWEN_TOOLS_OUTRO = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
"""The tool section of Qwen's system turn (Qwen2.5, Qwen3), around `tool_lines`."""


def tagged_syntax(*, end: str, stops: tuple[str, ...], reasoning: ReasoningSyntax | None = None) -> CallSyntax:
    """The call syntax of tagged JSON calls; `end` and `stops` are the family's."""
    return CallSyntax(
        call=(CALL_OPEN + '\n{"name": "', NAME, '", "arguments": ', ARGUMENTS, "}\n" + CALL_CLOSE),
        separator="\n",
        text_to_calls="\n",
        end=end,
        stops=stops,
        trigger=CALL_OPEN,
        reasoning=reasoning,
    )


def tool_lines(tools: Sequence[Tool]) -> str:
    """Each tool's JSON on a line of its own, each line opened by a newline."""
    return "".join("\n" + json.dumps(tool.model_dump(exclude_none=True), ensure_ascii=False) for tool in tools)


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """One call as the templates write it."""
    encoded = json.dumps(arguments, ensure_ascii=False)
    return f'{CALL_OPEN}\n{{"name": "{name}", "arguments": {encoded}}}\n{CALL_CLOSE}'


def tagged_reply(message: AssistantMessage) -> str:
    """An assistant turn's text and calls: the text, a newline, the calls one per line."""
    calls = [call_text(call.name, call.parsed_arguments()) for call in message.calls()]
    content = message_text(message.content)
    if not calls:
        return content
    return (content + "\n" if content else "") + "\n".join(calls)


def parse_tagged_calls(text: str, *, partial: bool) -> ParsedMessage:
    """Content and calls of an answer (see the module docstring)."""
    result = ParsedMessage()
    position = 0
    while True:
        start = text.find(CALL_OPEN, position)
        if start < 0:
            tail = text[position:]
            if partial:
                tail = tail[: len(tail) - held_back(tail, ["\n" + CALL_OPEN, CALL_OPEN])]
            result.content += _text_segment(tail, after_call=bool(result.calls), before_call=False)
            return result
        call, end = _read_call(text, start + len(CALL_OPEN), partial)
        if call is None and not partial:
            # Not a call: keep everything from here as content; nothing is lost.
            result.content += _text_segment(text[position:], after_call=bool(result.calls), before_call=False)
            return result
        result.content += _text_segment(text[position:start], after_call=bool(result.calls), before_call=True)
        if call is None or not call.complete:
            if call is not None:
                result.calls.append(call)
            return result
        result.calls.append(call)
        position = end


def _read_call(text: str, body: int, partial: bool) -> tuple[ParsedCall | None, int]:
    """The call whose JSON opens after `<tool_call>` at `body`, and the index after it
    (after `</tool_call>` when that follows). While the close tag has not been seen, a
    streamed call stays incomplete."""
    status, call, end = read_json_call(text, skip_space(text, body), partial=partial, argument_keys=ARGUMENT_KEYS)
    if status == "invalid":
        return None, body
    if status == "pending":
        return call, len(text)
    assert call is not None
    close = skip_space(text, end)
    if text.startswith(CALL_CLOSE, close):
        return call, close + len(CALL_CLOSE)
    call.complete = not partial
    return call, end


def _text_segment(segment: str, *, after_call: bool, before_call: bool) -> str:
    """Content from a stretch of text between calls, without the newlines that the format
    puts around calls; whitespace between two calls is not content."""
    if after_call:
        if not segment.strip():
            return ""
        segment = segment.removeprefix("\n")
    if before_call:
        segment = segment.removesuffix("\n")
    return segment

