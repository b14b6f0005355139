"""MeetKai functionary v3.1 tool calls: `<function=NAME>{...}</function>` on Llama 3.1
turns, rendered as functionary-medium-v3.1's chat template does.

Wire text of an assistant turn (after `<|start_header_id|>assistant<|end_header_id|>\\n\\n`)::

    Let me check.<function=get_weather>{"city": "Paris"}</function><function=get_time>{}</function><|eom_id|>

A prompt with tools, a call and its result::

    <|start_header_id|>system<|end_header_id|>\\n\\n\\nCutting Knowledge Date: December 2023\\n\\n\\nYou have access to the following functions:\\n\\nUse the function 'get_weather' to 'Get the current weather'\\n{"name": "get_weather", ...}\\n\\n\\nThink very carefully before calling functions. ...<|eot_id|><|start_header_id|>user<|end_header_id|>\\n\\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n<function=get_weather>{"city": "Paris"}</function><|eom_id|><|start_header_id|>ipython<|end_header_id|>\\n\\nsunny<|eot_id|>

A turn with calls ends with `<|eom_id|>` (the model waits for results), a text turn with
`<|eot_id|>`. Text may precede the calls. The `python` tool is also called Llama 3.1's
way, `<|python_tag|>` and raw code to the end of the reply: read as a call of `python`
with `{"code": ...}` when a tool of that name is given, else content. A call whose
arguments are not one JSON object is content from its `<function=` on. The template
fails on a tool without a description; `template_input` gives it an empty one. The BOS
token is not written: the engine adds it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from toolwire.formats._scan import CallStatus, held_back, read_json_arguments, skip_space
from toolwire.formats._tools import with_defaults
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.types import AssistantMessage, FunctionMessage, Message, ParsedCall, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["FunctionaryV31Format"]

OPEN = "<function="
CLOSE = "</function>"
PYTHON_TAG = "<|python_tag|>"
EOT = "<|eot_id|>"
EOM = "<|eom_id|>"
INSTRUCTIONS = (
    "\nThink very carefully before calling functions.\nIf a you choose to call a function ONLY reply in the "
    "following format:\n<{start_tag}={function_name}>{parameters}{end_tag}\nwhere\n\nstart_tag => `<function`\n"
    "parameters => a JSON dict with the function argument name as key and function argument value as value.\n"
    "end_tag => `</function>`\n\nHere is an example,\n<function=example_function_name>{\"example_name\": "
    "\"example_value\"}</function>\n\nReminder:\n- If looking for real time information use relevant functions "
    "before falling back to brave_search\n- Function calls MUST follow the specified format, start with "
    "<function= and end with </function>\n- Required parameters MUST be specified\n- Only call one function at "
    "a time\n- Put the entire function call reply on one line\n\n"
)
_NAME = re.compile(r"[^>\s]+")


def _header(role: str) -> str:
    return f"<|start_header_id|>{role}<|end_header_id|>\n\n"


def _call_text(name: str, arguments: dict[str, Any]) -> str:
    return f"{OPEN}{name}>{json.dumps(arguments, ensure_ascii=False)}{CLOSE}"


class FunctionaryV31Format(Format):
    name = "functionary-v3.1"
    syntax = CallSyntax(
        call=(OPEN, NAME, ">", ARGUMENTS, CLOSE),
        separator="",
        end=EOT,
        stops=(EOT, EOM, "<|end_of_text|>"),
        trigger=OPEN,
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        system = _header("system") + "\nCutting Knowledge Date: December 2023\n\n"
        if tools and options.describe_tools:
            system += "\nYou have access to the following functions:\n\n"
            for tool in tools:
                function = tool.function.model_dump(exclude_none=True)
                function.setdefault("description", "")  # as `template_input` gives the template
                system += f"Use the function '{tool.name}' to '{function['description']}'\n{json.dumps(function, ensure_ascii=False)}\n\n"
            system += INSTRUCTIONS
        parts = [system + EOT]
        rest = list(messages)
        if options.system_prompt and not (rest and rest[0].role in ("system", "developer")):
            parts.append(_header("system") + options.system_prompt + EOT)
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                calls = message.calls()
                parts.append(_header("assistant") + self.render_reply(message, tools) + (EOM if calls else EOT))
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(_header("ipython") + text + EOT)
            else:
                parts.append(_header("system" if message.role == "developer" else message.role) + text + EOT)
        if options.add_generation_prompt:
            parts.append(_header("assistant"))
        return "".join(parts)

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every tool with a description, which the template needs."""
        return messages, with_defaults(tools, description="")

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then the calls (`python` with its code after `<|python_tag|>`)."""
        calls = []
        for call in message.calls():
            arguments = call.parsed_arguments()
            if call.name == "python" and set(arguments) == {"code"} and isinstance(arguments["code"], str):
                calls.append(PYTHON_TAG + arguments["code"])
            else:
                calls.append(_call_text(call.name, arguments))
        return message_text(message.content) + "".join(calls)

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        result = ParsedMessage()
        python = any(tool.name == "python" for tool in tools)
        markers = [OPEN, PYTHON_TAG] if python else [OPEN]
        found = [at for at in (text.find(marker) for marker in markers) if at >= 0]
        if not found:
            result.content = text[:len(text) - held_back(text, markers)] if partial else text
            return result
        index = min(found)
        result.content = text[:index]
        while True:
            if text.startswith(PYTHON_TAG, index) and python:
                code = text[index + len(PYTHON_TAG):]
                result.calls.append(ParsedCall("python", json.dumps({"code": code}, ensure_ascii=False), complete=not partial))
                return result
            status, end = self._read_call(text, index, partial, result)
            if status == "pending":
                return result
            if status == "invalid":
                result.content += text[index:]
                return result
            index = skip_space(text, end)
            if text.startswith(OPEN, index) or (python and text.startswith(PYTHON_TAG, index)):
                continue
            rest = text[end:]
            if partial:
                rest = rest[:len(rest) - held_back(rest, markers)]
            result.content += rest if rest.strip() else ""
            return result

    def _read_call(self, text: str, at: int, partial: bool, result: ParsedMessage) -> tuple[CallStatus, int]:
        """Read the call at `<function=` into `result`."""
        head = at + len(OPEN)
        if partial and OPEN.startswith(text[at:]):
            return "pending", len(text)
        name = _NAME.match(text, head)
        if name is None or name.end() == len(text):
            return ("pending", len(text)) if partial and (name is not None or head == len(text)) else ("invalid", at)
        if text[name.end()] != ">":
            return "invalid", at
        status, arguments, end = read_json_arguments(text, name.end() + 1, partial=partial)
        if status == "invalid":
            return "invalid", at
        if status == "pending":
            if arguments:  # announced once its object opens
                result.calls.append(ParsedCall(name.group(), arguments, complete=False))
            return "pending", len(text)
        close = skip_space(text, end)
        if text.startswith(CLOSE, close):
            result.calls.append(ParsedCall(name.group(), arguments))
            return "call", close + len(CLOSE)
        if partial and CLOSE.startswith(text[close:]):
            result.calls.append(ParsedCall(name.group(), arguments, complete=False))
            return "pending", len(text)
        result.calls.append(ParsedCall(name.group(), arguments))  # `</function>` left out
        return "call", end
