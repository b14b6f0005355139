"""DeepSeek tool calls, between DeepSeek's special tokens: V3.1 (`deepseek-v3.1`) and R1 /
V3-0324 (`deepseek-r1`); rendered as their templates do.

Wire text of a V3.1 assistant turn (after `<｜Assistant｜></think>`, thinking off; with
thinking on the prompt ends `<think>` and the model writes its reasoning and `</think>`
first)::

    Let me check.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>

R1 (after `<｜Assistant｜><think>\\n`: the prompt opens the thinking block)::

    The user wants the weather.
    </think>

    <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
    ```json
    {"city": "Paris"}
    ```<｜tool▁call▁end｜>
    <｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time
    ```json
    {}
    ```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>

Arguments are JSON read with `raw_decode` (a `<｜tool▁call▁end｜>` inside a string is text);
a block whose `<｜tool▁calls▁end｜>` never comes still yields its complete calls (R1's
template leaves it out after a single call). Results come back as
`<｜tool▁output▁begin｜>…<｜tool▁output▁end｜>`.

Deliberate differences from the templates: neither template writes the tools into the
prompt, so `render` adds the tool section of DeepSeek's model cards (V3.1: `## Tools` with
each tool's `Description` and `Parameters`; R1/V3: `## Tools\\n\\n### Function` with each
tool's JSON). R1's template drops the text of a turn with calls, leaves out
`<｜tool▁calls▁end｜>` after a single call and `<｜Assistant｜>` before a second turn of
calls; `render` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from toolwire.formats._reasoning import THINK, parse_with_reasoning, think_block
from toolwire.formats._scan import held_back, json_object_at, json_prefix_end, skip_space, strip_partial
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedCall, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["DeepSeekR1Format", "DeepSeekV31Format"]

CALLS_BEGIN, CALLS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
CALL_BEGIN, CALL_END, SEP = "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"
USER, ASSISTANT, EOS = "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"
OUTPUT_BEGIN, OUTPUT_END = "<｜tool▁output▁begin｜>", "<｜tool▁output▁end｜>"
FENCE_OPEN, FENCE_CLOSE = "\n```json\n", "\n```"

V31_TOOLS_OUTRO = (
    "IMPORTANT: ALWAYS adhere to this exact format for tool use:\n"
    f"{CALLS_BEGIN}{CALL_BEGIN}tool_call_name{SEP}tool_call_arguments{CALL_END}{{additional_tool_calls}}{CALLS_END}\n\n"
    "Where:\n- `tool_call_name` must be an exact match to one of the available tools\n"
    "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n"
    "- For multiple tool calls, chain them directly without separators or spaces"
)


def _v31_tools(tools: Sequence[Tool]) -> str:
    """DeepSeek-V3.1's tool section (its model card)."""
    listed = "".join(
        f"### {tool.name}\nDescription: {tool.function.description or ''}\n\n"
        f"Parameters: {json.dumps(tool.function.parameters or {}, ensure_ascii=False)}\n\n" for tool in tools)
    return "## Tools\nYou have access to the following tools:\n\n" + listed + V31_TOOLS_OUTRO


def _v3_tools(tools: Sequence[Tool]) -> str:
    """DeepSeek-V3 / R1's tool section (its model card): each tool's JSON."""
    listed = "".join(
        f"\n\n- `{tool.name}`:\n```json\n{json.dumps(tool.function.model_dump(exclude_none=True), ensure_ascii=False, indent=4)}\n```"
        for tool in tools)
    return "## Tools\n\n### Function\n\nYou have the following functions available:" + listed


def _with_tools(system: str, tools_section: str) -> str:
    return "\n\n".join(part for part in (system, tools_section) if part)


def _arguments(arguments: str) -> str:
    """Arguments as the templates write them (re-encoded JSON)."""
    return json.dumps(json.loads(arguments), ensure_ascii=False)


@dataclass(frozen=True)
class _Reader:
    """Reads DeepSeek call blocks; `fenced`: R1's `function<sep>NAME` + fenced JSON."""

    fenced: bool

    def call(self, text: str, position: int, partial: bool) -> tuple[ParsedCall | None, int, str]:
        """(call, index after it, "call" | "pending" | "invalid") for the call at
        `position`. A call is announced once its name is complete; one whose
        `<｜tool▁call▁end｜>` never comes is complete when the text ends."""
        waiting = "pending" if partial else "invalid"
        start = skip_space(text, position)
        if not text.startswith(CALL_BEGIN, start):
            return None, position, "pending" if partial and CALL_BEGIN.startswith(text[start:]) else "invalid"
        name_start = start + len(CALL_BEGIN)
        if self.fenced:
            sep = text.find(SEP, name_start)
            if sep < 0:
                return None, position, waiting if "\n" not in text[name_start:] else "invalid"
            name_start = sep + len(SEP)
        stop = "\n" if self.fenced else SEP
        name_end = text.find(stop, name_start)
        if name_end < 0:
            return None, position, waiting
        name = text[name_start:name_end].strip()
        if not name or any(char.isspace() for char in name):
            return None, position, "invalid"
        call = ParsedCall(name, "", complete=False)
        body = skip_space(text, name_end + len(stop))
        if self.fenced and text.startswith("```json", body):
            body = skip_space(text, body + len("```json"))
        elif self.fenced and partial and "```json".startswith(text[body:]):
            return call, len(text), "pending"
        if body == len(text):
            return (call, len(text), "pending") if partial else (None, position, "invalid")
        if not text.startswith("{", body):
            return None, position, "invalid"
        close = json_prefix_end(text, body)
        if close is None:
            if not partial:
                return None, position, "invalid"
            call.arguments = strip_partial(text[body:])
            return call, len(text), "pending"
        decoded = json_object_at(text, body)
        if decoded is None or decoded[1] != close or not isinstance(decoded[0], dict):
            return None, position, "invalid"
        call.arguments = text[body:close]
        end = skip_space(text, close)
        if self.fenced and text.startswith("```", end):
            end = skip_space(text, end + 3)
        if text.startswith(CALL_END, end):
            call.complete = True
            return call, end + len(CALL_END), "call"
        if partial:
            return call, len(text), "pending"
        call.complete = True
        return call, end, "call"

    def parse(self, text: str, *, partial: bool) -> ParsedMessage:
        """Content and calls of an answer: text, then a block of calls, then text."""
        result = ParsedMessage()
        start = text.find(CALLS_BEGIN)
        if start < 0:
            result.content = text[: len(text) - held_back(text, [CALLS_BEGIN])] if partial else text
            return result
        position = start + len(CALLS_BEGIN)
        while True:
            call, end, status = self.call(text, position, partial)
            if call is not None:
                result.calls.append(call)
            if status != "call":
                break
            position = end
        if status == "invalid" and not result.calls:
            result.content = text  # not a call: nothing is lost
            return result
        result.content = text[:start]
        if status == "pending":
            return result
        rest = skip_space(text, position)
        if text.startswith(CALLS_END, rest):
            rest = skip_space(text, rest + len(CALLS_END))
        elif partial and CALLS_END.startswith(text[rest:]):
            return result
        result.content += text[rest:]
        return result


class _DeepSeekFormat(Format):
    """What both DeepSeek generations share: markers, results, parsing."""

    reader: _Reader

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: self.reader.parse(answer, partial=partial))


class DeepSeekV31Format(_DeepSeekFormat):
    name = "deepseek-v3.1"
    syntax = CallSyntax(
        call=(CALL_BEGIN, NAME, SEP, ARGUMENTS, CALL_END),
        separator="",
        calls_begin=CALLS_BEGIN,
        calls_end=CALLS_END,
        end=EOS,
        stops=(EOS,),
        trigger=CALLS_BEGIN,
        reasoning=ReasoningSyntax("<think>", "</think>"),
    )
    reader = _Reader(fenced=False)

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        systems = [message_text(m.content) for m in messages if m.role in ("system", "developer")]
        system = "\n\n".join(systems) if systems else options.system_prompt or ""
        parts = [_with_tools(system, _v31_tools(tools) if tools and options.describe_tools else "")]
        last_user = after_tool = False
        for message in messages:
            if message.role == "user":
                parts.append(USER + message_text(message.content))
                last_user, after_tool = True, False
            elif isinstance(message, AssistantMessage) and message.tool_calls is not None:
                calls = "".join(f"{CALL_BEGIN}{call.name}{SEP}{_arguments(call.arguments)}{CALL_END}" for call in message.calls())
                opening = ASSISTANT + "</think>" if last_user else ""
                parts.append(opening + message_text(message.content) + CALLS_BEGIN + calls + CALLS_END + EOS)
                last_user = after_tool = False
            elif isinstance(message, AssistantMessage):
                content = message_text(message.content)
                if not after_tool and "</think>" in content:
                    content = content.split("</think>", 1)[1]
                parts.append((ASSISTANT + "</think>" if last_user else "") + content + EOS)
                last_user = after_tool = False
            elif isinstance(message, ToolMessage) or message.role == "function":
                parts.append(OUTPUT_BEGIN + message_text(message.content) + OUTPUT_END)
                last_user, after_tool = False, True
        if options.add_generation_prompt and last_user:
            parts.append(ASSISTANT + ("<think>" if options.thinking else "</think>"))
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        calls = "".join(f"{CALL_BEGIN}{call.name}{SEP}{_arguments(call.arguments)}{CALL_END}" for call in message.calls())
        answer = message_text(message.content) + (CALLS_BEGIN + calls + CALLS_END if calls else "")
        reasoning = message.reasoning_content
        block = self.syntax.reasoning
        if block is not None and block.opened_by_prompt:
            return (reasoning or "").strip() + block.end + answer
        return f"<think>{reasoning.strip()}</think>{answer}" if reasoning else answer


class DeepSeekR1Format(_DeepSeekFormat):
    name = "deepseek-r1"
    syntax = CallSyntax(
        call=(CALL_BEGIN + "function" + SEP, NAME, FENCE_OPEN, ARGUMENTS, FENCE_CLOSE + CALL_END),
        separator="\n",
        calls_begin=CALLS_BEGIN,
        calls_end=CALLS_END,
        end=EOS,
        stops=(EOS,),
        trigger=CALLS_BEGIN,
        reasoning=THINK,
    )
    reader = _Reader(fenced=True)

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        systems = [message_text(m.content) for m in messages if m.role in ("system", "developer")]
        system = systems[-1] if systems else options.system_prompt or ""
        parts = [_with_tools(system, _v3_tools(tools) if tools and options.describe_tools else "")]
        outputs = 0
        for message in messages:
            if message.role == "user":
                parts.append(USER + message_text(message.content))
                outputs = 0
            elif isinstance(message, AssistantMessage):
                if outputs:
                    parts.append("<｜tool▁outputs▁end｜>")
                    outputs = 0
                content = message_text(message.content)
                if not message.calls() and "</think>" in content:
                    content = content.split("</think>")[-1]
                parts.append(ASSISTANT + self._answer(content, message) + EOS)
            elif isinstance(message, ToolMessage) or message.role == "function":
                opening = "<｜tool▁outputs▁begin｜>" if not outputs else "\n"
                parts.append(opening + OUTPUT_BEGIN + message_text(message.content) + OUTPUT_END)
                outputs += 1
        if outputs:
            parts.append("<｜tool▁outputs▁end｜>")
        elif options.add_generation_prompt:
            parts.append(ASSISTANT + "<think>\n")
        return "".join(parts)

    def _answer(self, content: str, message: AssistantMessage) -> str:
        calls = "\n".join(f"{CALL_BEGIN}function{SEP}{call.name}{FENCE_OPEN}{_arguments(call.arguments)}{FENCE_CLOSE}{CALL_END}"
                          for call in message.calls())
        return content + (CALLS_BEGIN + calls + CALLS_END if calls else "")

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        answer = self._answer(message_text(message.content), message)
        reasoning = message.reasoning_content or ""
        block = self.syntax.reasoning
        if block is not None and block.opened_by_prompt:
            return think_block(reasoning).removeprefix(block.begin).lstrip("\n") + answer
        return think_block(reasoning) + answer if reasoning else answer
