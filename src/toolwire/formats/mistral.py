"""Mistral v3 tool calls (Mistral 7B v0.3, Nemo, Small): a JSON array after `[TOOL_CALLS]`,
rendered as Mistral's v3 chat template does (tekken spacing: no space after the tokens).

Wire text of an assistant turn::

    Let me check.[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]</s>

A prompt with a call and its result::

    [AVAILABLE_TOOLS][{"type": "function", "function": {"name": "get_weather", ...}}][/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST][TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "Ab3dE6gH9"}]</s>[TOOL_RESULTS]{"content": "sunny", "call_id": "Ab3dE6gH9"}[/TOOL_RESULTS]

Tools are listed just before the last user turn, and the system prompt opens that turn.
Call ids are 9 alphanumerics; other ids in the history are mapped to 9 alphanumerics the
same way for a call and its result. A result's content is written as JSON when it is JSON,
else as a JSON string. `[TOOL_CALLS]` is a special token, so text before it is read
unambiguously: a turn may carry text, then calls (`text_before_calls`). The parser also
reads sentencepiece spacing (`[TOOL_CALLS] [`), `"parameters"` for `"arguments"`, and
ignores an `"id"` the model writes. The BOS token (`<s>`) is not written: the engine adds
it. A block that does not parse is content from its first bad element (or from
`[TOOL_CALLS]` when no call in it parsed).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from toolwire.formats._mistral import CALLS, mistral_call_id, nine_character_ids
from toolwire.formats._scan import held_back, read_json_call, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions, random_call_id
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

__all__ = ["MistralFormat", "mistral_call_id"]

EOS = "</s>"


def _calls_block(calls: Sequence[dict[str, Any]]) -> str:
    return CALLS + "[" + ", ".join(json.dumps(call, ensure_ascii=False) for call in calls) + "]"


def _result_content(text: str) -> Any:
    """The result as JSON when it is a JSON text, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class MistralFormat(Format):
    name = "mistral"
    syntax = CallSyntax(
        call=('{"name": "', NAME, '", "arguments": ', ARGUMENTS, "}"),
        calls_begin=CALLS + "[",
        separator=", ",
        calls_end="]",
        end=EOS,
        stops=(EOS,),
    )

    def new_call_id(self) -> str:
        """9 alphanumerics, the only ids Mistral's template accepts."""
        return random_call_id(prefix="", length=9)

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
        available = ""
        if tools and options.describe_tools:
            listed = json.dumps([tool.model_dump(exclude_none=True) for tool in tools], ensure_ascii=False)
            available = f"[AVAILABLE_TOOLS]{listed}[/AVAILABLE_TOOLS]"
        users = [index for index, message in enumerate(rest) if isinstance(message, UserMessage)]
        last_user = users[-1] if users else None
        parts: list[str] = []
        if last_user is None and (available or system):
            parts.append(available + (f"[INST]{system}[/INST]" if system else ""))
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage):
                parts.append(self._history_reply(message) + EOS)
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(self._result(message))
            else:
                text = message_text(message.content)
                if index == last_user:
                    parts.append(available)
                    text = f"{system}\n\n{text}" if system else text
                parts.append(f"[INST]{text}[/INST]")
        return "".join(parts)

    def _history_reply(self, message: AssistantMessage) -> str:
        """A past assistant turn: its text, then its calls with their ids."""
        content = message_text(message.content)
        if message.tool_calls:
            pairs = [(call.function, call.id) for call in message.tool_calls]
        else:
            pairs = [(call, call.name) for call in message.calls()]
        if not pairs:
            return content
        calls = [
            {"name": call.name, "arguments": call.parsed_arguments(), "id": mistral_call_id(call_id)}
            for call, call_id in pairs
        ]
        return content + _calls_block(calls)

    def _result(self, message: ToolMessage | FunctionMessage) -> str:
        result: dict[str, Any] = {"content": _result_content(message_text(message.content))}
        call_id = message.tool_call_id if isinstance(message, ToolMessage) else message.name
        call_id = call_id or message.name
        if call_id:
            result["call_id"] = mistral_call_id(call_id)
        return f"[TOOL_RESULTS]{json.dumps(result, ensure_ascii=False)}[/TOOL_RESULTS]"

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Call ids of 9 alphanumerics, which Mistral's v3 templates insist on."""
        return nine_character_ids(messages), tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then `[TOOL_CALLS][...]` without ids (the model does not write them)."""
        content = message_text(message.content)
        calls = [{"name": call.name, "arguments": call.parsed_arguments()} for call in message.calls()]
        return content + (_calls_block(calls) if calls else "")

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        result = ParsedMessage()
        position = 0
        after_block = False
        while True:
            marker = text.find(CALLS, position)
            segment = text[position:] if marker < 0 else text[position:marker]
            if marker < 0 and partial:
                segment = segment[: len(segment) - held_back(segment, [CALLS])]
            if not (after_block and not segment.strip()):
                result.content += segment
            if marker < 0:
                return result
            position = self._read_block(text, marker, partial, result)
            if position is None:
                return result
            after_block = True

    def _read_block(self, text: str, marker: int, partial: bool, result: ParsedMessage) -> int | None:
        """Read the block at `marker` into `result`; the index after it, or None when the
        text ends inside it or the rest of the text became content."""
        index = skip_space(text, marker + len(CALLS))
        if index == len(text):
            if not partial:
                result.content += text[marker:]
            return None
        if text[index] != "[":
            result.content += text[marker:]
            return None
        index = skip_space(text, index + 1)
        if text.startswith("]", index):
            return index + 1
        read = 0
        while True:
            status, call, end = read_json_call(text, index, partial=partial, argument_keys=("arguments", "parameters"))
            if status == "pending":
                result.calls += [call] if call else []
                return None
            if status == "invalid":
                result.content += text[index if read else marker:]
                return None
            assert call is not None
            result.calls.append(call)
            read += 1
            index = skip_space(text, end)
            if index == len(text):
                return None
            if text[index] == "]":
                return index + 1
            if text[index] != ",":
                result.content += text[index:]
                return None
            index = skip_space(text, index + 1)
