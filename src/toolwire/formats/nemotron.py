"""NVIDIA Nemotron-Nano-v2 tool calls: a JSON list inside `<TOOLCALL>` tags after a
`<think>` block; rendered as Nemotron-Nano-v2's template does.

Wire text of an assistant turn (after `<SPECIAL_11>Assistant\\n<think>\\n`: the prompt
opens the thinking block unless thinking is off)::

    The user wants the weather.
    </think>

    Let me check.
    <TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]</TOOLCALL>
    <SPECIAL_12>

Calls are read by `_json_list`. Thinking is switched by `/think` or `/no_think` in a system
or user turn (the template strips them from the text); with it off the generation prompt
holds an empty block, `<think></think>`. Tools are listed in the system turn inside
`<AVAILABLE_TOOLS>`; results come back in a `User` turn as `<TOOL_RESPONSE>[...]`. The
template drops past reasoning.

Deliberate differences from the template: `RenderOptions.thinking` is honoured as the
model's own switch would be (`False` as `/no_think`, `True` as `/think`), where the
template takes no variable; a conversation ending with an assistant turn is rendered like
any other (the template moves its text into the generation prompt).
"""

from __future__ import annotations

import json
from typing import Sequence

from toolwire.formats._json_list import parse_listed_calls
from toolwire.formats._reasoning import THINK, parse_with_reasoning, think_block
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["NemotronFormat"]

END = "<SPECIAL_12>"
TOOLS_INSTRUCTIONS = (
    "If you decide to call any tool(s), use the following format:\n"
    '<TOOLCALL>[{{"name": "tool_name1", "arguments": "tool_args1"}}, '
    '{{"name": "tool_name2", "arguments": "tool_args2"}}]</TOOLCALL>\n\n'
    "The user will execute tool-calls and return responses from tool(s) in this format:\n"
    '<TOOL_RESPONSE>[{{"tool_response1"}}, {{"tool_response2"}}]</TOOL_RESPONSE>\n\n'
    "Based on the tool responses, you can call additional tools if needed, correct tool calls if any errors are "
    "found, or just respond to the user."
)


def _without_switches(text: str) -> str:
    return text.replace("/think", "").replace("/no_think", "").strip()


def _thinking(messages: Sequence[Message], options: RenderOptions) -> bool:
    """Whether the model thinks: the last `/think` or `/no_think` in a system or user turn
    decides (`options.thinking` counts as one more, after them); thinking by default."""
    thinking = True
    for message in messages:
        if message.role in ("user", "system", "developer"):
            text = message_text(message.content)
            if "/think" in text:
                thinking = True
            elif "/no_think" in text:
                thinking = False
    return thinking if options.thinking is None else options.thinking


def _calls(message: AssistantMessage) -> str:
    calls = ", ".join(f'{{"name": "{call.name}", "arguments": {json.dumps(call.parsed_arguments(), ensure_ascii=False)}}}'
                      for call in message.calls())
    return f"<TOOLCALL>[{calls}]</TOOLCALL>" if calls else ""


def _answer(message: AssistantMessage, content: str) -> str:
    calls = _calls(message)
    return content + ("\n" if content and calls else "") + calls


class NemotronFormat(Format):
    name = "nemotron"
    syntax = CallSyntax(
        call=('{"name": "', NAME, '", "arguments": ', ARGUMENTS, "}"),
        separator=", ",
        calls_begin="<TOOLCALL>[",
        calls_end="]</TOOLCALL>",
        text_to_calls="\n",
        end=END,
        stops=(END,),
        trigger="<TOOLCALL>",
        reasoning=THINK,
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
        system = _without_switches(system)
        parts = ["<SPECIAL_10>System\n" + system]
        if tools and options.describe_tools:
            listed = ", ".join(json.dumps(tool.model_dump(exclude_none=True)["function"], ensure_ascii=False)
                               for tool in tools)
            parts.append(("\n\n" if system else "") + "You can use the following tools to assist the user if required:"
                         f"\n<AVAILABLE_TOOLS>[{listed}]</AVAILABLE_TOOLS>\n\n" + TOOLS_INSTRUCTIONS)
        parts.append("\n\n")
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage):
                content = message_text(message.content)
                if "</think>" in content:
                    content = content.split("</think>")[1]
                parts.append("<SPECIAL_11>Assistant\n" + _answer(message, content.strip()) + f"\n{END}\n")
            elif isinstance(message, ToolMessage) or message.role == "function":
                if index == 0 or rest[index - 1].role not in ("tool", "function"):
                    parts.append("<SPECIAL_11>User\n<TOOL_RESPONSE>[")
                parts.append(message_text(message.content))
                closes = index == len(rest) - 1 or rest[index + 1].role not in ("tool", "function")
                parts.append("]</TOOL_RESPONSE>" if closes else ", ")
            elif message.role == "user":
                parts.append(f"<SPECIAL_11>User\n{_without_switches(message_text(message.content))}\n")
        if options.add_generation_prompt:
            parts.append("<SPECIAL_11>Assistant\n" + ("<think>\n" if _thinking(messages, options) else "<think></think>"))
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        answer = _answer(message, message_text(message.content))
        reasoning = message.reasoning_content or ""
        block = self.syntax.reasoning
        if block is not None and block.opened_by_prompt:
            return think_block(reasoning).removeprefix(block.begin).lstrip("\n") + answer
        return think_block(reasoning) + answer if reasoning else answer

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_listed_calls(answer, partial=partial, begin="<TOOLCALL>", end="</TOOLCALL>"))
