"""Pythonic tool calls (Llama 3.2 1B/3B): a Python list of calls with keyword arguments,
rendered with Llama 3.2's pythonic system prompt (Llama 4: `llama4-pythonic`; LFM2: `lfm2`).

Wire text of an assistant turn (after `<|start_header_id|>assistant<|end_header_id|>\\n\\n`)::

    [get_weather(city="Paris", days=3, metric=True), todo.addTodo(todo="Buy milk")]<|eot_id|>

A turn is either text or calls. Names may be dotted; values are Python literals, read
without evaluating anything (`_pythonic`); positional arguments need the tool (`tools`) to
be named. A call's arguments are JSON text; a call appears whole when its `)` closes.
Tools are listed in the system turn; results come back in `ipython` turns as
`{"output": ...}`. Calls are kept up to the first element that is not a call; from there
on the text is content (all of it when no call came before): nothing is lost.
"""

from __future__ import annotations

from typing import Sequence

from toolwire.formats._llama3 import EOT, STOPS, calls_start, render_llama3
from toolwire.formats._pythonic import call_text, read_call_list
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool, message_text

__all__ = ["PythonicFormat"]

SYSTEM_INSTRUCTIONS = (
    "You have access to the following functions. To call functions, please respond with a python list "
    "of the calls. Respond in the format [func_name1(params_name1=params_value1, "
    "params_name2=params_value2...), func_name2(params)] Do not use variables.\n\n"
)


class PythonicFormat(Format):
    name = "pythonic"
    syntax = CallSyntax(
        call=(NAME, "(", ARGUMENTS, ")"),
        arguments="python-kwargs",
        calls_begin="[",
        separator=", ",
        calls_end="]",
        text_before_calls=False,
        end=EOT,
        stops=STOPS,
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        return render_llama3(
            messages, tools, options, reply=self.render_reply,
            system_instructions=SYSTEM_INSTRUCTIONS, user_instructions=None,
        )

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """`[call(...), ...]`; a turn with calls drops its content, as Llama's template does."""
        calls = message.calls()
        if not calls:
            return message_text(message.content)
        return "[" + ", ".join(call_text(call.name, call.parsed_arguments()) for call in calls) + "]"

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        start = calls_start(text, partial)
        if start is None:
            return ParsedMessage()
        if not text.startswith("[", start):
            return ParsedMessage(content=text)
        result, end = read_call_list(text, start + 1, partial=partial, tools=tools)
        if end is not None:
            result.content = text[end:].strip()  # text after the list
        return result
