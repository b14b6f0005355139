"""FunctionGemma tool calls: `call:NAME{...}` between `<start_function_call>` and
`<end_function_call>`, arguments in Gemma's syntax with `<escape>` around strings, on
Gemma turns, rendered as vLLM's FunctionGemma chat template
(`tool_chat_template_functiongemma.jinja`) does.

Wire text of an assistant turn (after `<start_of_turn>model`)::

    <start_function_call>call:get_weather{city:<escape>Paris<escape>,days:3}<end_function_call><end_of_turn>

A prompt with tools, a call and its result::

    <start_of_turn>user\\nBe brief.\\n\\nAvailable functions:\\n\\nFunction: get_weather\\nDescription: Get the current weather\\nParameters: {"type": "object", ...}<end_of_turn><start_of_turn>user\\nWeather in Paris?<end_of_turn><start_of_turn>model<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call><end_of_turn><start_of_turn>user\\nFunction result for get_weather: sunny<end_of_turn><start_of_turn>model

(the exact blank lines are the template's). Text may precede the calls; a text reply
starts with a newline, which is not content. Arguments: see `_gemma` (keys sorted, strings
never escaped, so a string cannot contain `<escape>`).

Deliberate differences from the template: it lists the tools only inside a system
message, so without one toolwire adds a system turn to list them; it writes every past
argument as `<escape>{{ value }}<escape>` (Python's `True`, `[{'a': 1}]`), toolwire writes
Google's FunctionGemma syntax (`vip:true`), and the parser reads both (the template's
spelling by the schema: `None` stays a string where a string is allowed). The template
fails on a tool without parameters or a description; toolwire writes `{}` and the
template's own default description, and passes the template the same
(`template_input`).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from toolwire.formats._gemma import GemmaCalls, write_arguments
from toolwire.formats._tools import EMPTY_PARAMETERS, with_defaults
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
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

__all__ = ["FunctionGemmaFormat"]

CALL_START = "<start_function_call>"
CALL_END = "<end_function_call>"
CALL_HEAD = CALL_START + "call:"
ESCAPE = "<escape>"
END = "<end_of_turn>"
CALLS = GemmaCalls(CALL_START, CALL_END, ESCAPE)
NO_DESCRIPTION = "No description provided"


def _turn(role: str, body: str) -> str:
    return f"<start_of_turn>{role}\n{body}{END}"


class FunctionGemmaFormat(Format):
    name = "functiongemma"
    syntax = CallSyntax(
        call=(CALL_HEAD, NAME, ARGUMENTS, CALL_END),
        arguments="gemma",
        string_delimiter=ESCAPE,
        separator="",
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
        shown = list(tools) if options.describe_tools else []
        parts: list[str] = []
        if not (rest and rest[0].role in ("system", "developer")) and (shown or options.system_prompt):
            parts.append(_turn("user", (options.system_prompt or "") + self._declarations(shown)))
        names: dict[str, str] = {}
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                names.update((call.id, call.function.name) for call in message.tool_calls or [])
                if message.calls():
                    parts.append(f"<start_of_turn>model{self.render_reply(message, tools)}{END}")
                else:
                    parts.append(_turn("model", text))
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                name = message.name or (names.get(message.tool_call_id or "") if isinstance(message, ToolMessage) else None)
                parts.append(_turn("user", f"Function result for {name or 'function'}: {text}"))
            elif isinstance(message, UserMessage):
                parts.append(_turn("user", text))
            else:
                parts.append(_turn("user", text + self._declarations(shown)))
        if options.add_generation_prompt:
            parts.append("<start_of_turn>model")
        return "".join(parts)

    @staticmethod
    def _declarations(tools: Sequence[Tool]) -> str:
        if not tools:
            return ""
        listed = "".join(
            f"\nFunction: {tool.name}\nDescription: {tool.function.description or NO_DESCRIPTION}\n"
            f"Parameters: {json.dumps(tool.function.parameters or EMPTY_PARAMETERS, ensure_ascii=False)}"
            for tool in tools
        )
        return "\nAvailable functions:" + listed

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every tool with parameters (the template fails without); a first system
        message to list the tools in when there is none."""
        tools = with_defaults(tools, parameters=EMPTY_PARAMETERS)
        if tools and not (messages and messages[0].get("role") in ("system", "developer")):
            messages = [{"role": "system", "content": ""}, *messages]
        return messages, tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text after a newline, then the calls."""
        text = message_text(message.content)
        calls = "".join(f"{CALL_HEAD}{call.name}{write_arguments(call.parsed_arguments(), ESCAPE)}{CALL_END}"
                        for call in message.calls())
        return ("\n" + text if text else "") + calls

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        parsed = CALLS.parse(text, partial=partial, tools=tools)
        parsed.content = parsed.content.removeprefix("\n")  # a text reply starts on a new line
        return parsed
