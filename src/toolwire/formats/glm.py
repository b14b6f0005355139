"""GLM-4.5 / 4.6 and GLM-4.7 tool calls: the function's name, then one `<arg_key>` /
`<arg_value>` pair per argument, after a `<think>` block; rendered as their templates do.

Wire text of an assistant turn, GLM-4.7 (after `<|assistant|><think>`, thinking on)::

    The user wants the weather.</think>Let me check.<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>

GLM-4.5 (after `<|assistant|>`)::

    <think>The user wants the weather.</think>
    Let me check.
    <tool_call>get_weather<arg_key>city</arg_key>
    <arg_value>Paris</arg_value></tool_call>

String values are raw text, others JSON (`_xml_calls`, typed by the tool's schema); the
reader takes whitespace between the tags, as the models write it
(`<tool_call>get_weather\\n<arg_key>…`). GLM-4.7's generation prompt opens the thinking
block (`<think>`), or closes it when thinking is off (`</think>`); GLM-4.5's writes
nothing, or an empty block (`\\n<think></think>`) and `/nothink` after the user's text.
The templates show reasoning only after the last user turn (GLM-4.7: everywhere with
`clear_thinking` false, which `render` does not take). Turns end with the model's
`<|user|>` or `<|observation|>` token; results come back after `<|observation|>` as
`<tool_response>` blocks.
"""

from __future__ import annotations

import json
from typing import Sequence

from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats._xml_calls import parse_parameter_calls, render_calls
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ParameterSyntax, ReasoningSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, SystemMessage, Tool, ToolMessage, message_text

__all__ = ["Glm45Format", "Glm47Format"]

PREFIX = "[gMASK]<sop>"
STOPS = ("<|user|>", "<|observation|>", "<|endoftext|>")
TOOLS_INTRO = (
    "<|system|>\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
TOOLS_OUTRO = "</tools>\n\nFor each function call, output the function name and arguments within the following XML format:\n"


def _split_reasoning(message: AssistantMessage) -> tuple[str, str]:
    """(reasoning, content) as the templates read an assistant turn."""
    content = message_text(message.content)
    if message.reasoning_content is not None:
        return message.reasoning_content, content
    if "</think>" in content:
        reasoning = content.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
        return reasoning, content.split("</think>")[-1].lstrip("\n")
    return "", content


class _GlmFormat(Format):
    """What both GLM generations share; the subclasses are data: their whitespace and
    how their prompts switch thinking."""

    example: str
    """The call example the tools section ends with."""
    space: str
    """Written before the thinking block, the text and the calls (GLM-4.5: a newline)."""
    response: str
    """A tool result in its `<tool_response>` block."""
    no_think: str
    """Appended to the user's text when thinking is off."""
    thinking_on: str
    thinking_off: str
    """The generation prompt's end, thinking on (or left to the model) and off."""
    hidden_thinking: str
    """What stands for a turn's thinking where the template does not show it."""

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        listed = list(messages)
        if options.system_prompt and not (listed and listed[0].role in ("system", "developer")):
            listed.insert(0, SystemMessage(content=options.system_prompt))
        parts = [PREFIX]
        if tools and options.describe_tools:
            lines = "".join(json.dumps(tool.model_dump(exclude_none=True), ensure_ascii=False) + "\n" for tool in tools)
            parts.append(TOOLS_INTRO + lines + TOOLS_OUTRO + self.example)
        last_user = max((i for i, m in enumerate(listed) if m.role == "user"), default=-1)
        for index, message in enumerate(listed):
            if isinstance(message, AssistantMessage):
                parts.append("<|assistant|>" + self._history_turn(message, index > last_user))
            elif isinstance(message, ToolMessage) or message.role == "function":
                if index == 0 or listed[index - 1].role not in ("tool", "function"):
                    parts.append("<|observation|>")
                parts.append(self.response.format(message_text(message.content)))
            elif message.role == "user":
                text = message_text(message.content)
                off = options.thinking is False and not text.endswith(self.no_think)
                parts.append("<|user|>" + text + (self.no_think if off else ""))
            else:
                parts.append("<|system|>" + self.space + message_text(message.content))
        if options.add_generation_prompt:
            parts.append("<|assistant|>" + (self.thinking_off if options.thinking is False else self.thinking_on))
        return "".join(parts)

    def _history_turn(self, message: AssistantMessage, after_last_user: bool) -> str:
        reasoning, content = _split_reasoning(message)
        shown = after_last_user and reasoning
        thinking = f"{self.space}<think>{reasoning.strip()}</think>" if shown else self.hidden_thinking
        return thinking + self._answer(content, message)

    def _answer(self, content: str, message: AssistantMessage) -> str:
        text = self.space + content.strip() if content.strip() else ""
        calls = render_calls(message.model_copy(update={"content": None}), self.syntax)
        return text + (self.space + calls if calls else "")

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        reasoning, content = _split_reasoning(message)
        answer = self._answer(content, message)
        block = self.syntax.reasoning
        if block is not None and block.opened_by_prompt:
            return reasoning.strip() + block.end + answer
        if reasoning:
            return f"{self.space}<think>{reasoning.strip()}</think>" + answer
        return answer.lstrip()

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_parameter_calls(answer, self.syntax, tools, partial=partial))


class Glm45Format(_GlmFormat):
    name = "glm-4.5"
    syntax = CallSyntax(
        call=("<tool_call>", NAME, ARGUMENTS, "</tool_call>"),
        arguments="parameters",
        parameters=ParameterSyntax("<arg_key>", "</arg_key>\n<arg_value>", "</arg_value>"),
        separator="\n",
        text_to_calls="\n",
        stops=STOPS,
        trigger="<tool_call>",
        reasoning=ReasoningSyntax("\n<think>", "</think>", separator="\n"),
    )
    example = (
        "<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</arg_value>\n"
        "<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>"
    )
    space = "\n"
    response = "\n<tool_response>\n{}\n</tool_response>"
    no_think = "/nothink"
    thinking_on = ""
    thinking_off = "\n<think></think>"
    hidden_thinking = "\n<think></think>"


class Glm47Format(_GlmFormat):
    name = "glm-4.7"
    syntax = CallSyntax(
        call=("<tool_call>", NAME, ARGUMENTS, "</tool_call>"),
        arguments="parameters",
        parameters=ParameterSyntax("<arg_key>", "</arg_key><arg_value>", "</arg_value>"),
        separator="",
        stops=STOPS,
        trigger="<tool_call>",
        reasoning=ReasoningSyntax("<think>", "</think>"),
    )
    example = (
        "<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>"
        "<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>"
    )
    space = ""
    response = "<tool_response>{}</tool_response>"
    no_think = ""
    thinking_on = "<think>"
    thinking_off = "</think>"
    hidden_thinking = "</think>"
