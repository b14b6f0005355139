"""Kimi-K2 tool calls: a section of calls, each named by its id `functions.NAME:INDEX`,
rendered as Moonshot's Kimi-K2-Instruct template does.

Wire text of an assistant turn (after `<|im_assistant|>assistant<|im_middle|>`)::

    Let me check.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_call_begin|>functions.get_time:1<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|><|im_end|>

A prompt with tools, a call and its result::

    <|im_system|>tool_declare<|im_middle|>[{"type": "function", "function": {...}}]<|im_end|><|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by Moonshot AI.<|im_end|><|im_user|>user<|im_middle|>Weather in Paris?<|im_end|><|im_assistant|>assistant<|im_middle|><|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|><|im_end|><|im_system|>get_weather<|im_middle|>## Return of functions.get_weather:0
    sunny<|im_end|><|im_assistant|>assistant<|im_middle|>

The call id is the model's own: `functions.` + name + `:` + the call's index, counted over
the conversation. The parser returns it as the call's id, so the id goes back into the
history as the model wrote it. Ids of another shape (`call_abc`) are rendered as
`functions.NAME:INDEX` with the call's index in the conversation, for the call and for its
result; the template would write them as given, which Kimi never saw in training (a
deliberate difference, also applied when the template itself renders: `template_input`).
Results are matched to calls in order, as the template does. Text may precede the calls;
text after the section is content too. The parser also reads a call without the section
markers (llama.cpp has seen Kimi drop them) and an id without `functions.`. A call whose
arguments are not one JSON object is content from its `<|tool_call_begin|>` on (from the
section's marker when it is the first): nothing is lost.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from toolwire.formats._scan import CallStatus, held_back, read_json_arguments, skip_space
from toolwire.formats.base import ARGUMENTS, INDEX, NAME, CallSyntax, Format, RenderOptions
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

__all__ = ["KimiK2Format", "kimi_call_id"]

SECTION_BEGIN = "<|tool_calls_section_begin|>"
SECTION_END = "<|tool_calls_section_end|>"
CALL_BEGIN = "<|tool_call_begin|>"
ARGUMENTS_BEGIN = "<|tool_call_argument_begin|>"
CALL_END = "<|tool_call_end|>"
END = "<|im_end|>"
GENERATION_PROMPT = "<|im_assistant|>assistant<|im_middle|>"
DEFAULT_SYSTEM = "You are Kimi, an AI assistant created by Moonshot AI."
_KIMI_ID = re.compile(r"functions\.(.+):([0-9]+)")


def kimi_call_id(call_id: str, name: str, index: int) -> str:
    """`call_id` when it has Kimi's shape `functions.NAME:N`, else `functions.NAME:index`."""
    return call_id if _KIMI_ID.fullmatch(call_id) else f"functions.{name}:{index}"


def _name_from_id(call_id: str) -> str:
    """The tool's name in a call id: `functions.todo.addTodo:3` -> `todo.addTodo`."""
    name = call_id.strip().removeprefix("functions.")
    head, colon, index = name.rpartition(":")
    if colon and index.isdigit():
        name = head
    return name if name and not any(char.isspace() for char in name) else ""


def _call_text(call_id: str, arguments: dict[str, Any]) -> str:
    encoded = json.dumps(arguments, ensure_ascii=False)
    return f"{CALL_BEGIN}{call_id}{ARGUMENTS_BEGIN}{encoded}{CALL_END}"


class _Ids:
    """Call ids of a conversation in Kimi's shape, counted over the conversation; results
    take the ids of the calls in order, as the template's queue does."""

    def __init__(self) -> None:
        self.count = 0
        self.queue: list[str] = []

    def call(self, call_id: str, name: str) -> str:
        kimi_id = kimi_call_id(call_id, name, self.count)
        self.count += 1
        self.queue.append(kimi_id)
        return kimi_id

    def result(self, name: str) -> str:
        return self.queue.pop(0) if self.queue else f"functions.{name or 'unknown'}:{self.count + 1}"


class KimiK2Format(Format):
    name = "kimi-k2"
    syntax = CallSyntax(
        call=(CALL_BEGIN + "functions.", NAME, ":", INDEX, ARGUMENTS_BEGIN, ARGUMENTS, CALL_END),
        separator="",
        calls_begin=SECTION_BEGIN,
        calls_end=SECTION_END,
        end=END,
        stops=(END,),
        trigger=SECTION_BEGIN,
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        parts: list[str] = []
        if tools and options.describe_tools:
            listed = json.dumps([tool.model_dump(exclude_none=True) for tool in tools], ensure_ascii=False)
            parts.append(f"<|im_system|>tool_declare<|im_middle|>{listed}{END}")
        rest = list(messages)
        if rest and rest[0].role not in ("system", "developer"):
            parts.append(f"<|im_system|>system<|im_middle|>{options.system_prompt or DEFAULT_SYSTEM}{END}\n")
        ids = _Ids()
        names: dict[str, str] = {}
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                body = text
                if message.calls():
                    pairs = [(call.id, call.function) for call in message.tool_calls or []]
                    pairs = pairs or [(call.name, call) for call in message.calls()]
                    names.update((call_id, call.name) for call_id, call in pairs)
                    calls = "".join(_call_text(ids.call(call_id, call.name), call.parsed_arguments())
                                    for call_id, call in pairs)
                    body = text + SECTION_BEGIN + calls + SECTION_END
                parts.append(f"<|im_assistant|>{message.name or 'assistant'}<|im_middle|>{body}{END}")
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                name = message.name or (names.get(message.tool_call_id or "", "") if isinstance(message, ToolMessage) else "")
                parts.append(f"<|im_system|>{name or 'tool'}<|im_middle|>## Return of {ids.result(name)}\n{text}{END}")
            elif isinstance(message, UserMessage):
                parts.append(f"<|im_user|>{message.name or 'user'}<|im_middle|>{text}{END}")
            else:
                parts.append(f"<|im_system|>{message.name or 'system'}<|im_middle|>{text}{END}")
        if options.add_generation_prompt:
            parts.append(GENERATION_PROMPT)
        return "".join(parts)

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Call ids in Kimi's shape (see the module docstring)."""
        count = 0
        adapted = []
        for message in messages:
            if message.get("tool_calls"):
                calls = []
                for call in message["tool_calls"]:
                    calls.append({**call, "id": kimi_call_id(call.get("id", ""), call["function"]["name"], count)})
                    count += 1
                message = {**message, "tool_calls": calls}
            adapted.append(message)
        return adapted, tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then the calls numbered from 0 (the model counts over the conversation)."""
        content = message_text(message.content)
        calls = message.calls()
        if not calls:
            return content
        body = "".join(_call_text(f"functions.{call.name}:{index}", call.parsed_arguments())
                       for index, call in enumerate(calls))
        return content + SECTION_BEGIN + body + SECTION_END

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        result = ParsedMessage()
        starts = [at for at in (text.find(SECTION_BEGIN), text.find(CALL_BEGIN)) if at >= 0]
        if not starts:
            held = held_back(text, [SECTION_BEGIN, CALL_BEGIN]) if partial else 0
            result.content = text[:len(text) - held]
            return result
        start = min(starts)
        result.content = text[:start]
        index = start + len(SECTION_BEGIN) if text.startswith(SECTION_BEGIN, start) else start
        while True:
            index = skip_space(text, index)
            if text.startswith(CALL_BEGIN, index):
                status, end = self._read_call(text, index, partial, result)
                if status == "pending":
                    return result
                if status == "invalid":
                    result.content += text[start if not result.calls else index:]
                    return result
                index = end
                continue
            rest = text[index:]
            if partial and (CALL_BEGIN.startswith(rest) or SECTION_END.startswith(rest)):
                return result  # a marker still being written, or nothing yet
            if not result.calls:
                result.content += text[start:]  # a section without calls: text
                return result
            if rest.startswith(SECTION_END):
                rest = rest[len(SECTION_END):]
            if partial:
                rest = rest[:len(rest) - held_back(rest, [SECTION_BEGIN, CALL_BEGIN])]
            result.content += rest
            return result

    def _read_call(self, text: str, at: int, partial: bool, result: ParsedMessage) -> tuple[CallStatus, int]:
        """Read the call at `<|tool_call_begin|>` into `result`: ("call", end), ("pending",
        len) while partial text has not finished it, or ("invalid", at)."""
        head = at + len(CALL_BEGIN)
        marker = text.find(ARGUMENTS_BEGIN, head)
        if marker < 0:
            bad = CALL_END in text[head:] or SECTION_END in text[head:]
            return ("pending", len(text)) if partial and not bad else ("invalid", at)
        call_id = text[head:marker].strip()
        name = _name_from_id(call_id)
        if not name:
            return "invalid", at
        status, arguments, end = read_json_arguments(text, marker + len(ARGUMENTS_BEGIN), partial=partial)
        if status == "invalid":
            return "invalid", at
        if status == "pending":
            result.calls.append(ParsedCall(name, arguments, complete=False, id=call_id))
            return "pending", len(text)
        close = skip_space(text, end)
        if text.startswith(CALL_END, close):
            result.calls.append(ParsedCall(name, arguments, id=call_id))
            return "call", close + len(CALL_END)
        if partial and CALL_END.startswith(text[close:]):
            result.calls.append(ParsedCall(name, arguments, complete=False, id=call_id))
            return "pending", len(text)
        result.calls.append(ParsedCall(name, arguments, id=call_id))  # its end marker left out
        return "call", end
