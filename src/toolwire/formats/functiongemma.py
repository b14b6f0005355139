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

from toolwire.formats._gemma import read_arguments, write_arguments
from toolwire.formats._scan import held_back, skip_space
from toolwire.formats._tools import EMPTY_PARAMETERS, with_defaults
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
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

__all__ = ["FunctionGemmaFormat"]

CALL_START = "<start_function_call>"
CALL_END = "<end_function_call>"
CALL_HEAD = CALL_START + "call:"
ESCAPE = "<escape>"
END = "<end_of_turn>"
NO_DESCRIPTION = "No description provided"


def _turn(role: str, body: str) -> str:
    return f"<start_of_turn>{role}\n{body}{END}"


def _properties(name: str, tools: Sequence[Tool]) -> dict[str, Any] | None:
    for tool in tools:
        if tool.name == name:
            return (tool.function.parameters or {}).get("properties") or {}
    return None


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
        result = ParsedMessage()
        start = text.find(CALL_START)
        if start < 0:
            result.content = text[:len(text) - held_back(text, [CALL_START])] if partial else text
            result.content = result.content.removeprefix("\n")
            return result
        result.content = text[:start].removeprefix("\n")
        index = start
        while True:
            status, end = self._read_call(text, index, partial, tools, result)
            if status == "pending":
                return result
            if status == "invalid":
                result.content += text[index:]
                return result
            index = skip_space(text, end)
            if text.startswith(CALL_START, index):
                continue
            rest = text[end:]
            if partial:
                rest = rest[:len(rest) - held_back(rest, [CALL_START])]
            result.content += rest if rest.strip() else ""
            return result

    def _read_call(
        self, text: str, at: int, partial: bool, tools: Sequence[Tool], result: ParsedMessage,
    ) -> tuple[str, int]:
        """Read the call at `<start_function_call>` into `result`."""
        if not text.startswith(CALL_HEAD, at):
            return ("pending", len(text)) if partial and CALL_HEAD.startswith(text[at:]) else ("invalid", at)
        head = at + len(CALL_HEAD)
        brace = text.find("{", head)
        name = text[head:len(text) if brace < 0 else brace]
        if any(char.isspace() or char in "<>:,}[]" for char in name):
            return "invalid", at
        if brace < 0:
            return ("pending", len(text)) if partial else ("invalid", at)
        if not name:
            return "invalid", at
        status, arguments, end = read_arguments(text, brace, ESCAPE, partial=partial, properties=_properties(name, tools))
        if status == "invalid":
            return "invalid", at
        if status == "pending":
            result.calls.append(ParsedCall(name, arguments, complete=False))
            return "pending", len(text)
        close = skip_space(text, end)
        if text.startswith(CALL_END, close):
            result.calls.append(ParsedCall(name, arguments))
            return "call", close + len(CALL_END)
        if partial and CALL_END.startswith(text[close:]):
            result.calls.append(ParsedCall(name, arguments, complete=False))
            return "pending", len(text)
        if close == len(text):
            result.calls.append(ParsedCall(name, arguments))
            return "call", close
        return "invalid", at
