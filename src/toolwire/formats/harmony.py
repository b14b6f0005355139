"""gpt-oss (OpenAI's harmony format): messages on channels; reasoning on `analysis`, the
answer on `final`, calls on `commentary` addressed `to=functions.NAME`. Rendered as
gpt-oss's chat template does.

Wire text of an assistant turn (after `<|start|>assistant`), thinking then calling::

    <|channel|>analysis<|message|>The user wants the weather.<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Paris"}<|call|>

or answering::

    <|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>Sunny, 21 °C.<|return|>

The parser reads every message of the turn: its header (recipient `to=` before or after
the channel, `<|constrain|>json` or `json`), its body up to `<|end|>`, `<|call|>` or
`<|return|>`. `analysis` bodies are reasoning, `final` and recipient-less `commentary`
(preambles) are content, a message addressed `to=functions.NAME` (or another recipient) is
a call whose body is its JSON arguments; a trigger written on the analysis channel is
reasoning. `<|call|>` and `<|return|>` end generation, so one turn holds one call. Text
that is not a harmony message, or a call whose arguments are not a JSON object, is
content from there on. Tools are TypeScript declarations in the developer message's
`namespace functions`; `reasoning_effort` sets the system message's `Reasoning:` line.

Deliberate differences from the template: a past turn with several calls is written as
one message per call (the template keeps only the first), and each result is addressed
from the call it answers (the template takes the last call's name).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

from toolwire.formats._scan import held_back, json_object_at, json_prefix_end, skip_space, strip_partial
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions
from toolwire.types import (
    AssistantMessage,
    FunctionCall,
    Message,
    ParsedCall,
    ParsedMessage,
    Tool,
    ToolMessage,
    message_text,
)

__all__ = ["HarmonyFormat"]

START, CHANNEL, MESSAGE = "<|start|>", "<|channel|>", "<|message|>"
END, CALL, RETURN = "<|end|>", "<|call|>", "<|return|>"
TERMINATORS = (END, CALL, RETURN)
ASSISTANT = START + "assistant"
_RECIPIENT = re.compile(r"to=(\S+?)(?=<\||\s|$)")
_CHANNEL = re.compile(re.escape(CHANNEL) + r"\s*(\w+)")


# --- the developer message: tools as TypeScript -----------------------------------------------

def _ts_type(spec: Any, nested: bool = False) -> str:
    """A schema as gpt-oss's template writes it in TypeScript (its quirks included)."""
    if not isinstance(spec, Mapping):
        return "any"
    kind = spec.get("type")
    nullable = " | null" if spec.get("nullable") else ""
    if kind == "array":
        items = spec.get("items")
        if not items:
            return "any[]" + nullable
        simple = {"string": "string[]", "number": "number[]", "integer": "number[]", "boolean": "boolean[]"}
        if isinstance(items, Mapping) and items.get("type") in simple:
            return simple[items["type"]] + nullable
        inner = _ts_type(items)
        return ("any[]" if inner == "object | object" or len(inner) > 50 else inner + "[]") + nullable
    if isinstance(kind, list) and kind:
        return " | ".join(kind) if len(kind) > 1 else kind[0]
    if spec.get("oneOf"):
        variants = spec["oneOf"]
        if len(variants) > 1 and any(isinstance(v, Mapping) and v.get("type") == "object" for v in variants):
            return "any"
        out = []
        for index, variant in enumerate(variants):
            text = _ts_type(variant)
            if isinstance(variant, Mapping) and variant.get("description"):
                text += "// " + variant["description"]
            if isinstance(variant, Mapping) and "default" in variant:
                text += "\n// default: " + json.dumps(variant["default"], ensure_ascii=False)
            out.append(text + (" | \n" if index < len(variants) - 1 else ""))
        return "".join(out)
    if kind == "string":
        if spec.get("enum"):
            return '"' + '" | "'.join(spec["enum"]) + '"'
        return "string" + nullable
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "object":
        properties = spec.get("properties")
        if not properties:
            return "object"
        required = spec.get("required") or []
        members = [f"{name}{'' if name in required else '?'}: \n                {_ts_type(sub)}"
                   for name, sub in properties.items()]
        return "{\n" + ", ".join(members) + "}"
    return "any"


def _ts_default(spec: Mapping[str, Any]) -> str:
    if "default" not in spec:
        return ""
    if spec.get("enum"):
        return f", // default: {spec['default']}"
    if spec.get("oneOf"):
        return f"// default: {spec['default']}"
    return ", // default: " + json.dumps(spec["default"], ensure_ascii=False)


def _tool_namespace(tools: Sequence[Tool]) -> str:
    parts = ["## functions\n\nnamespace functions {\n\n"]
    for tool in tools:
        function = tool.function
        parts.append(f"// {function.description or ''}\ntype {function.name} = ")
        parameters = function.parameters or {}
        properties = parameters.get("properties") or {}
        if not properties:
            parts.append("() => any;\n\n")
            continue
        required = parameters.get("required") or []
        parts.append("(_: {\n")
        for name, spec in properties.items():
            spec = spec if isinstance(spec, Mapping) else {}
            if spec.get("description"):
                parts.append(f"// {spec['description']}\n")
            parts.append(f"{name}{'' if name in required else '?'}: {_ts_type(spec)}{_ts_default(spec)},\n")
        parts.append("}) => any;\n\n")
    parts.append("} // namespace functions")
    return "".join(parts)


def _system_message(tools: bool, options: RenderOptions) -> str:
    today = datetime.now().strftime("%Y-%m-%d")
    text = (
        "You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n"
        f"Current date: {today}\n\nReasoning: {options.reasoning_effort or 'medium'}\n\n"
        "# Valid channels: analysis, commentary, final. Channel must be included for every message."
    )
    if tools:
        text += "\nCalls to these tools must go to the commentary channel: 'functions'."
    return f"{START}system{MESSAGE}{text}{END}"


def _calls_with_ids(message: AssistantMessage) -> list[tuple[str, FunctionCall]]:
    if message.tool_calls:
        return [(call.id, call.function) for call in message.tool_calls]
    return [("", call) for call in message.calls()]


# --- reading ---------------------------------------------------------------------------------

HEADER_STARTS = (CHANNEL, "to=", "<|constrain|>")

def _join(text: str, more: str) -> str:
    """Bodies of successive messages on one channel, a blank line apart."""
    return text + ("\n\n" if text and more else "") + more


def _header(header: str) -> tuple[str | None, str | None]:
    """(channel, recipient) of a message header, e.g. ` to=functions.f<|channel|>commentary json`."""
    channel = _CHANNEL.search(header)
    recipient = _RECIPIENT.search(header)
    return (channel.group(1) if channel else None), (recipient.group(1) if recipient else None)


class HarmonyFormat(Format):
    name = "harmony"
    syntax = CallSyntax(
        call=(" to=functions.", NAME, CHANNEL + "commentary json" + MESSAGE, ARGUMENTS),
        separator=CALL + ASSISTANT,
        text_prefix=CHANNEL + "final" + MESSAGE,
        text_before_calls=False,
        end=RETURN,
        stops=(RETURN, CALL),
        reasoning=ReasoningSyntax(CHANNEL + "analysis" + MESSAGE, END, separator=ASSISTANT),
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        instructions = options.system_prompt or ""
        if rest and rest[0].role in ("system", "developer"):
            instructions = message_text(rest.pop(0).content)
        shown = list(tools) if options.describe_tools else []
        parts = [_system_message(bool(shown), options)]
        if instructions or shown:
            body = (f"# Instructions\n\n{instructions}\n\n" if instructions else "")
            body += ("# Tools\n\n" + _tool_namespace(shown)) if shown else ""
            parts.append(f"{START}developer{MESSAGE}{body}{END}")
        names: dict[str, str] = {}
        last_call: str | None = None
        for index, message in enumerate(rest):
            if isinstance(message, AssistantMessage) and message.calls():
                later_answer = any(isinstance(m, AssistantMessage) and not m.calls() for m in rest[index + 1:])
                thought = message_text(message.content) or message.reasoning_content or ""
                if thought and not later_answer:
                    parts.append(f"{ASSISTANT}{CHANNEL}analysis{MESSAGE}{thought}{END}")
                for call_id, call in _calls_with_ids(message):
                    arguments = json.dumps(call.parsed_arguments(), ensure_ascii=False)
                    parts.append(f"{ASSISTANT} to=functions.{call.name}{CHANNEL}commentary json{MESSAGE}{arguments}{CALL}")
                    names[call_id] = call.name
                last_call = message.calls()[0].name
            elif isinstance(message, AssistantMessage):
                final = index == len(rest) - 1 and not options.add_generation_prompt
                if final and message.reasoning_content:
                    parts.append(f"{ASSISTANT}{CHANNEL}analysis{MESSAGE}{message.reasoning_content}{END}")
                content = message_text(message.content)
                parts.append(f"{ASSISTANT}{CHANNEL}final{MESSAGE}{content}{RETURN if final else END}")
                last_call = None
            elif isinstance(message, ToolMessage) or message.role == "function":
                name = names.get(getattr(message, "tool_call_id", None) or "") or last_call or message.name or ""
                result = json.dumps(message_text(message.content), ensure_ascii=False)
                parts.append(f"{START}functions.{name} to=assistant{CHANNEL}commentary{MESSAGE}{result}{END}")
            elif message.role == "user":
                parts.append(f"{START}user{MESSAGE}{message_text(message.content)}{END}")
        if options.add_generation_prompt:
            parts.append(ASSISTANT)
        return "".join(parts)

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        parts = []
        if message.reasoning_content:
            parts.append(f"{CHANNEL}analysis{MESSAGE}{message.reasoning_content}{END}{ASSISTANT}")
        calls = [f" to=functions.{call.name}{CHANNEL}commentary json{MESSAGE}{json.dumps(call.parsed_arguments(), ensure_ascii=False)}"
                 for call in message.calls()]
        if calls:
            parts.append((CALL + ASSISTANT).join(calls))
        else:
            parts.append(f"{CHANNEL}final{MESSAGE}{message_text(message.content)}")
        return "".join(parts)

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        result = ParsedMessage()
        position = 0
        while position < len(text):
            start = position
            if position > 0:
                if not text.startswith(ASSISTANT, position):
                    if not (partial and ASSISTANT.startswith(text[position:])):
                        result.content = _join(result.content, text[position:])
                    return result
                position += len(ASSISTANT)
            opened = text.find(MESSAGE, position)
            header = text[position:] if opened < 0 else text[position:opened]
            lead = header.lstrip()
            plausible = lead.startswith(HEADER_STARTS) or any(marker.startswith(lead) for marker in HEADER_STARTS)
            if not plausible or any(marker in header for marker in TERMINATORS) or (opened < 0 and not partial):
                result.content = _join(result.content, text[start:])  # not a harmony message
                return result
            if opened < 0:
                return result
            channel, recipient = _header(text[position:opened])
            body_start = opened + len(MESSAGE)
            search = body_start
            if recipient is not None and text.startswith("{", skip_space(text, body_start)):
                # Arguments end where their JSON does: a terminator inside a string is text.
                search = json_prefix_end(text, skip_space(text, body_start)) or len(text)
            ends = [found for found in (text.find(marker, search) for marker in TERMINATORS) if found >= 0]
            body_end = min(ends) if ends else len(text)
            body = text[body_start:body_end]
            if not ends and partial:
                body = body[: len(body) - held_back(body, TERMINATORS)]
            if recipient is not None:
                call = self._call(recipient, body, complete=bool(ends) or not partial)
                if call is None:
                    result.content = _join(result.content, text[start:])
                    return result
                result.calls.append(call)
            elif channel == "analysis":
                result.reasoning = _join(result.reasoning, body)
            elif channel in ("final", "commentary"):
                result.content = _join(result.content, body)
            else:
                result.content = _join(result.content, text[start:])
                return result
            if not ends:
                return result
            terminator = next(marker for marker in TERMINATORS if text.startswith(marker, body_end))
            position = body_end + len(terminator)
        return result

    @staticmethod
    def _call(recipient: str, body: str, *, complete: bool) -> ParsedCall | None:
        """The call a message addressed to `recipient` makes; None when its arguments are
        not a JSON object (once the body is complete)."""
        name = recipient.removeprefix("functions.")
        if not complete:
            stripped = body.lstrip()
            return ParsedCall(name, strip_partial(stripped) if stripped.startswith("{") else "", complete=False)
        decoded = json_object_at(body, 0)
        if decoded is None or not isinstance(decoded[0], dict) or body[decoded[1]:].strip():
            return None
        return ParsedCall(name, body.strip())
