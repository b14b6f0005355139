"""Llama 4 pythonic tool calls: a Python list of calls, rendered as vLLM's Llama 4 pythonic
chat template (`tool_chat_template_llama4_pythonic.jinja`) does.

Wire text of an assistant turn (after `<|header_start|>assistant<|header_end|>\\n\\n`)::

    [get_weather(city="Paris"), get_time()]<|eot|>

A prompt with tools, a call and its result::

    <|header_start|>system<|header_end|>\\n\\nYou are a helpful assistant and an expert in function composition. ... Here is a list of functions in JSON format that you can invoke:\\n[\\n    {\\n        "type": "function", ...}\\n]<|eot|><|header_start|>user<|header_end|>\\n\\nWeather in Paris?<|eot|><|header_start|>assistant<|header_end|>\\n\\n[get_weather(city="Paris")]<|eot|><|header_start|>ipython<|header_end|>\\n\\n"sunny"<|eot|><|header_start|>assistant<|header_end|>\\n\\n

A turn is either text or calls (the system prompt forbids mixing them). Values are Python
literals, read without evaluating anything (`_pythonic`). Deliberate difference: the
template writes every past argument as `key="%s"` (`days="3"`, `vip="True"`, a list as its
Python repr in quotes), losing types and breaking on quotes; toolwire writes Python
literals (`days=3`, `vip=True`). The parser reads the template's spelling back by the
schema: a string given for a parameter that cannot be a string is read as the literal it
spells. Results are JSON strings in `ipython` turns. The BOS token is not written.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from toolwire.formats._pythonic import call_text, read_call_list
from toolwire.formats._scan import skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, RenderOptions
from toolwire.types import AssistantMessage, FunctionMessage, Message, ParsedMessage, Tool, ToolMessage, message_text

__all__ = ["Llama4PythonicFormat"]

EOT = "<|eot|>"
CUSTOM_SYSTEM_TOOLS = (
    "\nHere is a list of functions in JSON format that you can invoke. Use exact format: "
    "[func_name1(param1=value1, param2=value2), func_name2(...)]\n"
)
DEFAULT_SYSTEM = (
    'You are a helpful assistant and an expert in function composition. You can answer general '
    'questions using your internal knowledge OR invoke functions when necessary. Follow these '
    'strict guidelines:\n'
    '\n'
    '1. FUNCTION CALLS:\n'
    '- ONLY use functions that are EXPLICITLY listed in the function list below\n'
    '- If NO functions are listed (empty function list []), respond ONLY with internal knowledge '
    'or "I don\'t have access to [Unavailable service] information"\n'
    '- If a function is not in the list, respond ONLY with internal knowledge or "I don\'t have '
    'access to [Unavailable service] information"\n'
    "- If ALL required parameters are present AND the query EXACTLY matches a listed function's "
    'purpose: output ONLY the function call(s)\n'
    '- Use exact format: [func_name1(param1=value1, param2=value2), func_name2(...)]\n'
    'Examples:\n'
    'CORRECT: [get_weather(location="Vancouver"), calculate_route(start="Boston", end="New '
    'York")] <- Only if get_weather and calculate_route are in function list\n'
    'INCORRECT: get_weather(location="New York")\n'
    'INCORRECT: Let me check the weather: [get_weather(location="New York")]\n'
    'INCORRECT: [get_events(location="Singapore")] <- If function not in list\n'
    '\n'
    '2. RESPONSE RULES:\n'
    '- For pure function requests matching a listed function: ONLY output the function call(s)\n'
    '- For knowledge questions: ONLY output text\n'
    '- For missing parameters: ONLY request the specific missing parameters\n'
    '- For unavailable services (not in function list): output ONLY with internal knowledge or '
    '"I don\'t have access to [Unavailable service] information". Do NOT execute a function call.\n'
    '- If the query asks for information beyond what a listed function provides: output ONLY '
    'with internal knowledge about your limitations\n'
    '- NEVER combine text and function calls in the same response\n'
    '- NEVER suggest alternative functions when the requested service is unavailable\n'
    '- NEVER create or invent new functions not listed below\n'
    '\n'
    '3. STRICT BOUNDARIES:\n'
    '- ONLY use functions from the list below - no exceptions\n'
    '- NEVER use a function as an alternative to unavailable information\n'
    '- NEVER call functions not present in the function list\n'
    '- NEVER add explanatory text to function calls\n'
    '- NEVER respond with empty brackets\n'
    '- Use proper Python/JSON syntax for function calls\n'
    '- Check the function list carefully before responding\n'
    '\n'
    '4. TOOL RESPONSE HANDLING:\n'
    '- When receiving tool responses: provide concise, natural language responses\n'
    "- Don't repeat tool response verbatim\n"
    "- Don't add supplementary information\n"
    '\n'
    'Here is a list of functions in JSON format that you can invoke:\n'
)


def _turn(role: str, body: str) -> str:
    return f"<|header_start|>{role}<|header_end|>\n\n{body}{EOT}"


class Llama4PythonicFormat(Format):
    name = "llama4-pythonic"
    syntax = CallSyntax(
        call=(NAME, "(", ARGUMENTS, ")"),
        arguments="python-kwargs",
        calls_begin="[",
        separator=", ",
        calls_end="]",
        text_before_calls=False,
        end=EOT,
        stops=(EOT, "<|eom|>", "<|end_of_text|>"),
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        shown = list(tools) if options.describe_tools else []
        listed = json.dumps([tool.model_dump(exclude_none=True) for tool in shown], indent=4, ensure_ascii=False)
        parts: list[str] = []
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content).strip()
            if system:
                parts.append(_turn("system", system + (CUSTOM_SYSTEM_TOOLS + listed if shown else "")))
        elif shown or options.system_prompt:
            system = options.system_prompt.strip() if options.system_prompt else DEFAULT_SYSTEM
            parts.append(_turn("system", system + (CUSTOM_SYSTEM_TOOLS if options.system_prompt else "") + listed
                               if shown else system))
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage) and message.calls():
                calls = ", ".join(call_text(call.name, call.parsed_arguments()) for call in message.calls())
                parts.append(_turn("assistant", f"{text}[{calls}]"))
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(_turn("ipython", json.dumps(text, ensure_ascii=False)))
            else:
                parts.append(_turn("system" if message.role == "developer" else message.role, text))
        if options.add_generation_prompt:
            parts.append("<|header_start|>assistant<|header_end|>\n\n")
        return "".join(parts)

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Assistant content as a string: the template iterates a null content and fails."""
        return [{**message, "content": message.get("content") or ""} if message.get("role") == "assistant" else message
                for message in messages], tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """`[call(...), ...]`, or the text when there are no calls."""
        calls = message.calls()
        if not calls:
            return message_text(message.content)
        return "[" + ", ".join(call_text(call.name, call.parsed_arguments()) for call in calls) + "]"

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        start = skip_space(text, 0)
        if partial and start == len(text):
            return ParsedMessage()
        if not text.startswith("[", start):
            return ParsedMessage(content=text)
        result, end = read_call_list(text, start + 1, partial=partial, tools=tools)
        if end is not None:
            result.content = text[end:].strip()  # text after the list
        return result
