"""MeetKai functionary v3.2 tool calls: `>>>recipient\\ncontent` messages on Llama 3
turns, rendered as functionary-medium-v3.2's chat template does.

The generation prompt ends with `>>>`, so the model starts with a recipient: `all` for
text, or a function for a call. Wire text of an assistant turn (after
`<|start_header_id|>assistant<|end_header_id|>\\n\\n>>>`)::

    all\\nLet me check.>>>get_weather\\n{"city": "Paris"}>>>get_time\\n{}<|eot_id|>

A prompt with tools, a call and its result::

    <|start_header_id|>system<|end_header_id|>\\n\\nYou are capable of executing available function(s) if required.\\n...\\nAvailable functions:\\n// Supported function definitions that should be called when necessary.\\nnamespace functions {\\n// Get the current weather\\ntype get_weather = (_: {\\n// The city\\ncity: string,\\n}) => any;\\n} // namespace functions<|eot_id|><|start_header_id|>user<|end_header_id|>\\n\\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n>>>get_weather\\n{"city": "Paris"}<|eot_id|><|start_header_id|>tool<|end_header_id|>\\n\\nsunny<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n>>>

Text comes first (`all`), then calls. A call whose content is not one JSON object is
content from its `>>>` on (all of the reply when it is the first). Deliberate difference:
tools are written by `schema/typescript.py` (shared with functionary v2, see its
docstring for how it departs from functionary's macro), which leaves out the template's
blank lines inside the namespace and puts a dotted tool name `ns.fn` into its own
namespace. The BOS token is not written: the engine adds it.
"""

from __future__ import annotations

import json
import re
from typing import Sequence

from toolwire.formats._scan import held_back, read_json_arguments, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.schema.typescript import render_typescript
from toolwire.types import (
    AssistantMessage,
    FunctionCall,
    FunctionMessage,
    Message,
    ParsedCall,
    ParsedMessage,
    Tool,
    ToolMessage,
    message_text,
)

__all__ = ["FunctionaryV32Format"]

RECIPIENT = ">>>"
TEXT = "all"
EOT = "<|eot_id|>"
SYSTEM = (
    "You are capable of executing available function(s) if required.\nOnly execute function(s) when absolutely "
    "necessary.\nAsk for the required input to:recipient==all\nUse JSON for function arguments.\nRespond in "
    "this format:\n>>>${recipient}\n${content}\nAvailable functions:\n"
    "// Supported function definitions that should be called when necessary.\n"
)
_NAME = re.compile(r"[^\s>]+")


def _arguments(call: FunctionCall) -> str:
    return json.dumps(call.parsed_arguments(), ensure_ascii=False)


def _header(role: str) -> str:
    return f"<|start_header_id|>{role}<|end_header_id|>\n\n"


class FunctionaryV32Format(Format):
    name = "functionary-v3.2"
    syntax = CallSyntax(
        call=(NAME, "\n", ARGUMENTS),
        separator=RECIPIENT,
        text_prefix=TEXT + "\n",
        text_to_calls=RECIPIENT,
        end=EOT,
        stops=(EOT, "<|eom_id|>", "<|end_of_text|>"),
        trigger=RECIPIENT,
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        shown = tools if options.describe_tools else ()
        namespace = render_typescript(shown) or "namespace functions {\n\n} // namespace functions"
        parts = [_header("system") + SYSTEM + namespace + EOT]
        rest = list(messages)
        if options.system_prompt and not (rest and rest[0].role in ("system", "developer")):
            parts.append(_header("system") + options.system_prompt + EOT)
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                body = (RECIPIENT + TEXT + "\n" + text if text else "")
                body += "".join(f"{RECIPIENT}{call.name}\n{_arguments(call)}" for call in message.calls())
                parts.append(_header("assistant") + body + EOT)
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(_header("tool") + text + EOT)
            else:
                parts.append(_header("system" if message.role == "developer" else message.role) + text + EOT)
        if options.add_generation_prompt:
            parts.append(_header("assistant") + RECIPIENT)
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """`all\\n` and the text, then each call as `>>>name\\n{...}` (the first without
        `>>>`, which the generation prompt wrote)."""
        pieces = [TEXT + "\n" + message_text(message.content)] if message_text(message.content) else []
        pieces.extend(f"{call.name}\n{_arguments(call)}" for call in message.calls())
        return RECIPIENT.join(pieces) if pieces else TEXT + "\n"

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        result = ParsedMessage()
        index = 0
        while True:
            head = index if index == 0 else index + len(RECIPIENT)
            newline = text.find("\n", head)
            if newline < 0:
                name = text[head:]
                if partial and (not name or _NAME.fullmatch(name)):
                    return result  # the recipient is still being written
                return self._rest_is_content(result, text, index)
            recipient = text[head:newline]
            body = newline + 1
            if recipient == TEXT:
                end = text.find(RECIPIENT, body)
                segment = text[body:len(text) if end < 0 else end]
                if partial and end < 0:
                    segment = segment[:len(segment) - held_back(segment, [RECIPIENT])]
                result.content += segment
                if end < 0:
                    return result
                index = end
                continue
            if not _NAME.fullmatch(recipient):
                return self._rest_is_content(result, text, index)
            status, arguments, end = read_json_arguments(text, body, partial=partial)
            if status == "invalid":
                return self._rest_is_content(result, text, index)
            if status == "pending":
                if arguments:  # announced once its object opens: a recipient line may be text
                    result.calls.append(ParsedCall(recipient, arguments, complete=False))
                return result
            result.calls.append(ParsedCall(recipient, arguments))
            index = skip_space(text, end)
            if text.startswith(RECIPIENT, index):
                continue
            rest = text[end:]
            if partial and held_back(rest.strip(), [RECIPIENT]) == len(rest.strip()):
                return result
            if rest.strip():
                result.content += rest
            return result

    @staticmethod
    def _rest_is_content(result: ParsedMessage, text: str, index: int) -> ParsedMessage:
        """Everything from `index` on is content (from the start when nothing came before)."""
        result.content += text[index:] if (result.calls or result.content) else text
        return result
