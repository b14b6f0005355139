"""MiniMax-M2 tool calls: `<invoke>` blocks of named parameters inside
`<minimax:tool_call>`, after a `<think>` block; rendered as MiniMax-M2's template does.

Wire text of an assistant turn (after `]~b]ai\\n<think>\\n`: the generation prompt opens
the thinking block)::

    The user wants the weather.
    </think>

    Let me check.
    <minimax:tool_call>
    <invoke name="get_weather">
    <parameter name="city">Paris</parameter>
    </invoke>
    <invoke name="get_time">
    </invoke>
    </minimax:tool_call>[e~[

String values are raw text, others JSON (`_xml_calls`, typed by the tool's schema); a
value holding `</parameter>` reads whole. The template keeps a turn's reasoning only after
the last user turn (interleaved thinking) and has no switch to turn thinking off. Tools
are listed as `<tool>` JSON lines in the system turn; results come back in a `tool` turn
as `<response>` blocks.
"""

from __future__ import annotations

import json
from typing import Sequence

from toolwire.formats._reasoning import THINK, parse_with_reasoning, think_block
from toolwire.formats._xml_calls import parse_parameter_calls, render_calls
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ParameterSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["MiniMaxM2Format"]

END = "[e~["
DEFAULT_SYSTEM = "You are a helpful assistant."
TOOLS_INTRO = (
    "\n\n# Tools\nYou may call one or more tools to assist with the user query.\n"
    "Here are the tools available in JSONSchema format:\n\n<tools>\n"
)
TOOLS_OUTRO = (
    "</tools>\n\nWhen making tool calls, use XML format to invoke tools and pass parameters:\n\n"
    '<minimax:tool_call>\n<invoke name="tool-name-1">\n<parameter name="param-key-1">param-value-1</parameter>\n'
    '<parameter name="param-key-2">param-value-2</parameter>\n...\n</invoke>\n</minimax:tool_call>'
)


def _split_reasoning(message: AssistantMessage) -> tuple[str, str]:
    """(reasoning, content) as the template reads an assistant turn."""
    content = message_text(message.content)
    if message.reasoning_content is not None:
        return message.reasoning_content, content
    if "</think>" in content:
        reasoning = content.split("</think>")[0].strip("\n").split("<think>")[-1].strip("\n")
        return reasoning, content.split("</think>")[-1].strip("\n")
    return "", content


class MiniMaxM2Format(Format):
    name = "minimax-m2"
    syntax = CallSyntax(
        call=('<invoke name="', NAME, '">\n', ARGUMENTS, "</invoke>\n"),
        arguments="parameters",
        parameters=ParameterSyntax('<parameter name="', '">', "</parameter>\n"),
        separator="",
        calls_begin="<minimax:tool_call>\n",
        calls_end="</minimax:tool_call>",
        text_to_calls="\n",
        end=END,
        stops=(END,),
        trigger="<minimax:tool_call>",
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
        parts = ["]~!b[]~b]system\n" + (system or DEFAULT_SYSTEM)]
        if tools and options.describe_tools:
            listed = "".join(
                f"<tool>{json.dumps(tool.model_dump(exclude_none=True)['function'], ensure_ascii=False)}</tool>\n"
                for tool in tools)
            parts.append(TOOLS_INTRO + listed + TOOLS_OUTRO)
        parts.append(END + "\n")
        last_user = max((i for i, m in enumerate(rest) if m.role == "user"), default=-1)
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage):
                reasoning, content = _split_reasoning(message)
                thinking = think_block(reasoning) if reasoning and index > last_user else ""
                parts.append("]~b]ai\n" + thinking + content + self._calls(message) + END + "\n")
            elif isinstance(message, ToolMessage) or message.role == "function":
                if index == 0 or rest[index - 1].role not in ("tool", "function"):
                    parts.append("]~b]tool")
                parts.append(f"\n<response>{message_text(message.content)}</response>")
                if index == len(rest) - 1 or rest[index + 1].role not in ("tool", "function"):
                    parts.append(END + "\n")
            elif message.role == "user":
                parts.append(f"]~b]user\n{message_text(message.content)}{END}\n")
        if options.add_generation_prompt:
            parts.append("]~b]ai\n<think>\n")
        return "".join(parts)

    def _calls(self, message: AssistantMessage) -> str:
        calls = render_calls(message.model_copy(update={"content": None}), self.syntax)
        return "\n" + calls if calls else ""

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        reasoning, content = _split_reasoning(message)
        answer = render_calls(message.model_copy(update={"content": content}), self.syntax)
        block = self.syntax.reasoning
        if block is not None and block.opened_by_prompt:
            return think_block(reasoning).removeprefix(block.begin).lstrip("\n") + answer
        return think_block(reasoning) + answer if reasoning else answer

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_parameter_calls(answer, self.syntax, tools, partial=partial))
