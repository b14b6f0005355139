"""Qwen3 tool calls: Hermes-style JSON inside `<tool_call>` tags after a `<think>` block,
rendered as Qwen3's chat template does.

Wire text of an assistant turn (after `<|im_start|>assistant\\n`)::

    <think>
    The user wants the weather; I will call get_weather.
    </think>

    Let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call><|im_end|>

The thinking block is read first (`_reasoning`): a `<tool_call>` written inside it is
reasoning, not a call. With thinking off (`enable_thinking` false) the generation prompt
ends with an empty block, `<think>\\n\\n</think>\\n\\n`, and the model answers at once.
Unlike Qwen2.5 there is no default system prompt. The template shows an assistant turn's
reasoning only after the last real user query (earlier turns drop it), and always shows
the block, empty or not, on a conversation's final assistant turn; so does `render`.
Results come back in `user` turns as `<tool_response>` blocks, as for Qwen2.5.
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
from toolwire.formats._reasoning import THINK, parse_with_reasoning, think_block
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

__all__ = ["Qwen3Format", "split_think"]

NO_THINKING = "<think>\n\n</think>\n\n"


def _turn(role: str, body: str) -> str:
    return f"<|im_start|>{role}\n{body}<|im_end|>\n"


def split_think(message: AssistantMessage) -> tuple[str, str]:
    """(reasoning, content) of an assistant turn: its `reasoning_content`, or the
    `<think>...</think>` its content opens with (as Qwen3's template reads it)."""
    content = message_text(message.content)
    if message.reasoning_content is not None:
        return message.reasoning_content, content
    if "</think>" in content:
        before, _, after = content.partition("</think>")
        return before.rstrip("\n").split("<think>")[-1].lstrip("\n"), content.split("</think>")[-1].lstrip("\n")
    return "", content


def _is_query(message: Message) -> bool:
    """A user turn that is a real query, not tool results pasted in as text."""
    text = message_text(message.content)
    return message.role == "user" and not (text.startswith("<tool_response>") and text.endswith("</tool_response>"))


class Qwen3Format(Format):
    name = "qwen3"
    syntax = tagged_syntax(end="<|im_end|>", stops=("<|im_end|>", "<|endoftext|>"), reasoning=THINK)

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
        parts: list[str] = []
        if tools and options.describe_tools:
            prefix = system + "\n\n" if system else ""
            parts.append(_turn("system", prefix + QWEN_TOOLS_INTRO + tool_lines(tools) + QWEN_TOOLS_OUTRO))
        elif system is not None:
            parts.append(_turn("system", system))
        last_query = max((i for i, m in enumerate(rest) if _is_query(m)), default=len(rest) - 1)
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage):
                reasoning, content = split_think(message)
                head = ""
                if index > last_query and (index == len(rest) - 1 or reasoning):
                    head, content = think_block(reasoning), content.lstrip("\n")
                parts.append(_turn("assistant", head + tagged_reply(message.model_copy(update={"content": content}))))
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                opens = index == 0 or not isinstance(rest[index - 1], (ToolMessage, FunctionMessage))
                closes = index == len(rest) - 1 or not isinstance(rest[index + 1], (ToolMessage, FunctionMessage))
                block = f"\n<tool_response>\n{message_text(message.content)}\n</tool_response>"
                parts.append(("<|im_start|>user" if opens else "") + block + ("<|im_end|>\n" if closes else ""))
            else:
                role = "system" if message.role == "developer" else message.role
                parts.append(_turn(role, message_text(message.content)))
        if options.add_generation_prompt:
            parts.append("<|im_start|>assistant\n" + (NO_THINKING if options.thinking is False else ""))
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        reasoning, content = split_think(message)
        answer = tagged_reply(message.model_copy(update={"content": content}))
        return think_block(reasoning) + answer if reasoning else answer

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_tagged_calls(answer, partial=partial))
