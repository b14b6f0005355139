"""Hermes 2 Pro / Qwen2.5 tool calls: JSON inside `<tool_call>` tags, rendered as Qwen2.5's
chat template does.

Wire text of an assistant turn (after `<|im_start|>assistant\\n`)::

    Let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Tokyo"}}
    </tool_call><|im_end|>

Tools are listed in the system turn inside `<tools></tools>`, one JSON object per line;
results come back in a `user` turn as `<tool_response>` blocks. Text before the calls is
allowed; so are several calls. Calls are read by `_json_tags` (shared with the other
formats that write JSON inside `<tool_call>` tags): a call whose JSON does not parse stays
in the content.
"""

from __future__ import annotations

from typing import Sequence

from toolwire.formats._json_tags import (
    QWEN_TOOLS_INTRO,
    QWEN_TOOLS_OUTRO,
    parse_tagged_calls,
    tagged_reply,
    tagged_syntax,
    tool_lines,
)
from toolwire.formats.base import Format, RenderOptions
from toolwire.types import (
    AssistantMessage,
    FunctionMessage,
    Message,
    ParsedMessage,
    Tool,
    ToolMessage,
    message_text,
)

__all__ = ["HermesFormat"]

DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def _turn(role: str, body: str) -> str:
    return f"<|im_start|>{role}\n{body}<|im_end|>\n"


class HermesFormat(Format):
    name = "hermes"
    syntax = tagged_syntax(end="<|im_end|>", stops=("<|im_end|>", "<|endoftext|>"))

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        parts: list[str] = []
        rest = list(messages)
        system = options.system_prompt
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        if tools and options.describe_tools:
            tools_section = QWEN_TOOLS_INTRO + tool_lines(tools) + QWEN_TOOLS_OUTRO
            parts.append(_turn("system", (system or DEFAULT_SYSTEM) + "\n\n" + tools_section))
        else:
            parts.append(_turn("system", system or DEFAULT_SYSTEM))
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage):
                parts.append(_turn("assistant", self.render_reply(message, tools)))
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                opens = index == 0 or not isinstance(rest[index - 1], (ToolMessage, FunctionMessage))
                closes = index == len(rest) - 1 or not isinstance(rest[index + 1], (ToolMessage, FunctionMessage))
                block = f"\n<tool_response>\n{message_text(message.content)}\n</tool_response>"
                parts.append(("<|im_start|>user" if opens else "") + block + ("<|im_end|>\n" if closes else ""))
            else:
                role = "system" if message.role == "developer" else message.role
                parts.append(_turn(role, message_text(message.content)))
        if options.add_generation_prompt:
            parts.append("<|im_start|>assistant\n")
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        return tagged_reply(message)

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_tagged_calls(text, partial=partial)
