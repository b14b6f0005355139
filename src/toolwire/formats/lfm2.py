"""LFM2 tool calls (Liquid AI LFM2, LFM2.5): a Python list of calls between
`<|tool_call_start|>` and `<|tool_call_end|>`, on ChatML turns, rendered as LFM2's chat
template does.

Wire text of an assistant turn (after `<|im_start|>assistant\\n`)::

    Let me check.<|tool_call_start|>[get_weather(city="Paris"), get_time()]<|tool_call_end|><|im_end|>

A prompt with tools, a call and its result::

    <|im_start|>system\\nBe brief.\\nList of tools: <|tool_list_start|>[{"type": "function", "function": {...}}]<|tool_list_end|><|im_end|>\\n<|im_start|>user\\nWeather in Paris?<|im_end|>\\n<|im_start|>assistant\\n<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|><|im_end|>\\n<|im_start|>tool\\n<|tool_response_start|>sunny<|tool_response_end|><|im_end|>\\n<|im_start|>assistant\\n

Values are Python literals, read without evaluating anything (`_pythonic`). Text may come
before the calls (what toolwire writes and constrains) or after them (LFM2's model card
shows `<|tool_call_start|>[...]<|tool_call_end|>Checking the status...`); both are read as
content. Deliberate difference: LFM2's template writes a past turn's `content` only, so a
turn with calls renders as `null`; LFM2's documentation asks clients to put the call text
into that content, which is what toolwire renders. A list that is not all calls is content
from `<|tool_call_start|>` on (from the first bad element when calls came before).
"""

from __future__ import annotations

import json
from typing import Sequence

from toolwire.formats._pythonic import call_text, read_call_list
from toolwire.formats._scan import held_back, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.types import AssistantMessage, FunctionMessage, Message, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["Lfm2Format"]

CALL_START = "<|tool_call_start|>"
CALL_END = "<|tool_call_end|>"
END = "<|im_end|>"


def _turn(role: str, body: str) -> str:
    return f"<|im_start|>{role}\n{body}{END}\n"


class Lfm2Format(Format):
    name = "lfm2"
    syntax = CallSyntax(
        call=(NAME, "(", ARGUMENTS, ")"),
        arguments="python-kwargs",
        calls_begin=CALL_START + "[",
        separator=", ",
        calls_end="]" + CALL_END,
        end=END,
        stops=(END,),
        trigger=CALL_START,
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        system = options.system_prompt or ""
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        if tools and options.describe_tools:
            listed = ", ".join(json.dumps(tool.model_dump(exclude_none=True), ensure_ascii=False) for tool in tools)
            system += ("\n" if system else "") + f"List of tools: <|tool_list_start|>[{listed}]<|tool_list_end|>"
        parts = [_turn("system", system)] if system else []
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                parts.append(_turn("assistant", self.render_reply(message, tools)))
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(_turn("tool", f"<|tool_response_start|>{text}<|tool_response_end|>"))
            else:
                parts.append(_turn("system" if message.role == "developer" else message.role, text))
        if options.add_generation_prompt:
            parts.append("<|im_start|>assistant\n")
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then the calls."""
        text = message_text(message.content)
        calls = message.calls()
        if not calls:
            return text
        listed = ", ".join(call_text(call.name, call.parsed_arguments()) for call in calls)
        return f"{text}{CALL_START}[{listed}]{CALL_END}"

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        start = text.find(CALL_START)
        if start < 0:
            return ParsedMessage(content=text[:len(text) - held_back(text, [CALL_START])] if partial else text)
        before = text[:start]
        index = skip_space(text, start + len(CALL_START))
        if index == len(text) and partial:
            return ParsedMessage(content=before)
        if not text.startswith("[", index):
            return ParsedMessage(content=text)
        listed, end = read_call_list(text, index + 1, partial=partial, tools=tools)
        if end is None:
            if not listed.calls:
                listed.content = "" if partial else text[start:]
            listed.content = before + listed.content
            return listed
        close = skip_space(text, end)
        if text.startswith(CALL_END, close):
            after = text[close + len(CALL_END):]
        elif partial and CALL_END.startswith(text[close:]):
            after = ""
        else:
            after = text[end:]  # the end marker is missing: what follows the list is text
        listed.content = before + after
        return listed
