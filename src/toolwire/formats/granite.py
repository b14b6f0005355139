"""IBM Granite tool calls: Granite 3.3 (`granite-3`) writes a JSON list after
`<|tool_call|>` and thinks in `<think>` with its answer in `<response>`; Granite 4.0
(`granite-4`) writes Hermes-style `<tool_call>` JSON. Rendered as their templates do.

Wire text of a Granite 3.3 assistant turn (after `<|start_of_role|>assistant<|end_of_role|>`)::

    <|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|end_of_text|>

and, thinking (`thinking` on, no tools)::

    <think>The user greets me.</think><response>Hello!</response><|end_of_text|>

Granite 4.0::

    Let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call><|end_of_text|>

Granite 3.3's `<response>` tags are read off the content. Its template describes the tools
as an `available_tools` turn and asks for calls in its default system prompt (with today's
date); thinking on (`thinking`) only changes that default prompt, when there are no
tools. Deliberate difference: Granite 3.3's template writes only the text of past turns,
dropping their calls; `render` writes the calls as the model wrote them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Sequence

from toolwire.formats._json_list import parse_listed_calls
from toolwire.formats._json_tags import parse_tagged_calls, tagged_reply, tagged_syntax, tool_lines
from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats._scan import held_back
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, SystemMessage, Tool, ToolMessage, message_text

__all__ = ["Granite3Format", "Granite4Format"]

END = "<|end_of_text|>"
TOOL_CALL = "<|tool_call|>"
RESPONSE_OPEN, RESPONSE_CLOSE = "<response>", "</response>"
GRANITE3_TOOLS = (
    " You are a helpful assistant with access to the following tools. When a tool is required to answer the "
    "user's query, respond only with <|tool_call|> followed by a JSON list of tools used. If a tool does not exist "
    "in the provided list of tools, notify the user that you do not have the ability to fulfill the request."
)
GRANITE3_THINKING = (
    " You are a helpful AI assistant.\nRespond to every user query in a comprehensive and detailed way. You can "
    "write down your thoughts and reasoning process before responding. In the thought process, engage in a "
    "comprehensive cycle of analysis, summarization, exploration, reassessment, reflection, backtracing, and "
    "iteration to develop well-considered thinking process. In the response section, based on various attempts, "
    "explorations, and reflections from the thoughts section, systematically present the final solution that you "
    "deem correct. The response should summarize the thought process. Write your thoughts between <think></think> "
    "and write your response between <response></response> for each user query."
)
GRANITE4_DEFAULT = "You are a helpful assistant. Please ensure responses are professional, accurate, and safe."
GRANITE4_TOOLS_INTRO = (
    "You are a helpful assistant with access to the following tools. You may call one or more tools to assist "
    "with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
GRANITE4_TOOLS_OUTRO = (
    "\n</tools>\n\nFor each tool call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call>. If a tool does not exist in the provided list of tools, notify the user "
    "that you do not have the ability to fulfill the request."
)


def _turn(role: str, body: str) -> str:
    return f"<|start_of_role|>{role}<|end_of_role|>{body}{END}\n"


def _unwrap_response(answer: str, partial: bool) -> str:
    """The answer without Granite 3.3's `<response>` tags around its text."""
    start = len(answer) - len(answer.lstrip())
    if not answer.startswith(RESPONSE_OPEN, start):
        return "" if partial and answer.strip() and RESPONSE_OPEN.startswith(answer.strip()) else answer
    inner = answer[start + len(RESPONSE_OPEN):]
    close = inner.find(RESPONSE_CLOSE)
    if close >= 0:
        return inner[:close] + inner[close + len(RESPONSE_CLOSE):]
    return inner[: len(inner) - held_back(inner, [RESPONSE_CLOSE])] if partial else inner


def _calls_list(message: AssistantMessage) -> str:
    calls = ", ".join(f'{{"name": "{call.name}", "arguments": {json.dumps(call.parsed_arguments(), ensure_ascii=False)}}}'
                      for call in message.calls())
    return f"{TOOL_CALL}[{calls}]" if calls else ""


class Granite3Format(Format):
    name = "granite-3"
    syntax = CallSyntax(
        call=('{"name": "', NAME, '", "arguments": ', ARGUMENTS, "}"),
        separator=", ",
        calls_begin=TOOL_CALL + "[",
        calls_end="]",
        end=END,
        stops=(END,),
        trigger=TOOL_CALL,
        reasoning=ReasoningSyntax("<think>", "</think>"),
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        shown = list(tools) if options.describe_tools else []
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        elif options.system_prompt is not None:
            system = options.system_prompt
        else:
            today = datetime.now().strftime("%B %d, %Y")
            system = f"Knowledge Cutoff Date: April 2024. Today's Date: {today}. You are Granite, developed by IBM."
            system += GRANITE3_TOOLS if shown else GRANITE3_THINKING if options.thinking else " You are a helpful AI assistant."
        parts = [_turn("system", system)]
        if shown:
            listed = json.dumps([tool.model_dump(exclude_none=True) for tool in shown], ensure_ascii=False, indent=4)
            parts.append(_turn("available_tools", listed))
        for message in rest:
            role = "tool" if message.role == "function" else message.role
            body = message_text(message.content)
            if isinstance(message, AssistantMessage):
                body += _calls_list(message)
            parts.append(_turn(role, body))
        if options.add_generation_prompt and rest:
            parts.append("<|start_of_role|>assistant<|end_of_role|>")
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        content = message_text(message.content)
        if message.reasoning_content:
            text = f"<think>{message.reasoning_content.strip()}</think>" + (f"{RESPONSE_OPEN}{content}{RESPONSE_CLOSE}" if content else "")
            return text + _calls_list(message)
        return content + _calls_list(message)

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_listed_calls(_unwrap_response(answer, partial), partial=partial, begin=TOOL_CALL))


class Granite4Format(Format):
    name = "granite-4"
    syntax = tagged_syntax(end=END, stops=(END,))

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        listed = list(messages)
        if options.system_prompt and not (listed and listed[0].role in ("system", "developer")):
            listed.insert(0, SystemMessage(content=options.system_prompt))
        first_system = bool(listed) and listed[0].role in ("system", "developer")
        tools_message = ""
        if tools and options.describe_tools:
            tools_message = GRANITE4_TOOLS_INTRO + tool_lines(tools) + GRANITE4_TOOLS_OUTRO
        if first_system:
            system = message_text(listed[0].content) + ("\n\n" + tools_message if tools_message else "")
        else:
            system = tools_message
        parts = [_turn("system", system or GRANITE4_DEFAULT)]
        for index, message in enumerate(listed):
            if isinstance(message, AssistantMessage):
                parts.append(_turn("assistant", tagged_reply(message)))
            elif isinstance(message, ToolMessage) or message.role == "function":
                if index == 0 or listed[index - 1].role not in ("tool", "function"):
                    parts.append("<|start_of_role|>user<|end_of_role|>")
                parts.append(f"\n<tool_response>\n{message_text(message.content)}\n</tool_response>")
                if index == len(listed) - 1 or listed[index + 1].role not in ("tool", "function"):
                    parts.append(END + "\n")
            elif index > 0 or message.role == "user":
                role = "system" if message.role == "developer" else message.role
                parts.append(_turn(role, message_text(message.content)))
        if options.add_generation_prompt:
            parts.append("<|start_of_role|>assistant<|end_of_role|>")
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        return tagged_reply(message)

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_tagged_calls(text, partial=partial)
