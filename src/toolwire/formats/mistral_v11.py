"""Mistral v11 tool calls (Mistral Small 3.2, Devstral): one `[TOOL_CALLS]` per call, with
the call's id, rendered as Mistral-Small-3.2-24B-Instruct-2506's chat template does.

Wire text of an assistant turn::

    [TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[CALL_ID]Zz9Yy8Xx7[ARGS]{}</s>

A prompt with a call and its result::

    [SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][AVAILABLE_TOOLS][{"type": "function", "function": {...}}][/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST][TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"city": "Paris"}</s>[TOOL_RESULTS]a1B2c3D4e[TOOL_CONTENT]sunny[/TOOL_RESULTS]

Without a system message the template's default system prompt is used (it names today's
date). Tools are listed just before the last user turn. Call ids are 9 alphanumerics; the
parser keeps the id the model wrote (`[CALL_ID]` may also be missing: Magistral's models
leave it out), and other ids in the history are mapped to 9 alphanumerics the same way for
a call and its result, where the template would refuse them (also applied when the
template itself renders: `template_input`). As in the template, a past turn with calls
shows only its calls. `[TOOL_CALLS]` is a special token, so text may precede the calls.
A `[THINK]...[/THINK]` block at the start is read as reasoning, as Magistral writes it
(templates with `[CALL_ID]` may belong to reasoning models too).
The BOS token is not written: the engine adds it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from toolwire.formats._mistral import (
    ALPHANUMERICS, ARGS, CALL_ID_MARKER, CALLS, ID_LENGTH, END_THINK, THINK, mistral_call_id, nine_character_ids, parse_v11,
)
from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats.base import (
    ARGUMENTS, CALL_ID, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions, random_call_id,
)
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

__all__ = ["MistralV11Format", "default_system_prompt"]

EOS = "</s>"
_SYSTEM_BEFORE_DATE = (
    'You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, a French '
    'startup headquartered in Paris.\n'
    'Your knowledge base was last updated on 2023-10-01. The current date is '
)
_SYSTEM_AFTER_DATE = (
    '.\n'
    '\n'
    "When you're not sure about some information or when the user's request requires "
    'up-to-date or specific data, you must use the available tools to fetch the information. '
    'Do not hesitate to use tools whenever they can provide a more accurate or complete '
    "response. If no relevant tools are available, then clearly state that you don't have "
    'the information and avoid making up anything.\n'
    '\n'
    "If the user's question is not clear, ambiguous, or does not provide enough context for "
    'you to accurately answer the question, you do not try to answer it right away and you '
    'rather ask the user to clarify their request (e.g. "What are some good restaurants '
    'around me?" => "Where are you?" or "When is the next flight to Tokyo" => "Where do you '
    'travel from?").\n'
    'You are always very attentive to dates, and when asked about information at specific '
    'dates, you discard information that is at another date.\n'
    'You follow these instructions in all languages, and always respond to the user in the '
    'language they use or request.\n'
    'Next sections describe the capabilities that you have.\n'
    '\n'
    '# WEB BROWSING INSTRUCTIONS\n'
    '\n'
    'You cannot perform any web search or access internet to open URLs, links etc. If it '
    'seems like the user is expecting you to do so, you clarify the situation and ask the '
    'user to copy paste the text directly in the chat.\n'
    '\n'
    '# MULTI-MODAL INSTRUCTIONS\n'
    '\n'
    'You have the ability to read images, but you cannot generate images. You also cannot '
    'transcribe audio files or videos.\n'
    'You cannot read nor transcribe audio files or videos.\n'
    '\n'
    '# TOOL CALLING INSTRUCTIONS\n'
    '\n'
    'You may have access to tools that you can use to fetch information or perform actions. '
    'You must use these tools in the following situations:\n'
    '\n'
    '1. When the request requires up-to-date information.\n'
    '2. When the request requires specific data that you do not have in your knowledge base.\n'
    '3. When the request involves actions that you cannot perform without tools.\n'
    '\n'
    'Always prioritize using tools to provide the most accurate and helpful response. If '
    'tools are not available, inform the user that you cannot perform the requested action '
    'at the moment.'
)


def default_system_prompt(today: str | None = None) -> str:
    """Mistral Small 3.2's default system prompt for the date `today` (YYYY-MM-DD, default
    the current date, as the template's `strftime_now` gives it)."""
    return _SYSTEM_BEFORE_DATE + (today or datetime.now().strftime("%Y-%m-%d")) + _SYSTEM_AFTER_DATE


def _call_text(name: str, call_id: str, arguments: dict[str, Any]) -> str:
    return f"{CALLS}{name}{CALL_ID_MARKER}{call_id}{ARGS}{json.dumps(arguments, ensure_ascii=False)}"


class MistralV11Format(Format):
    name = "mistral-v11"
    syntax = CallSyntax(
        call=(CALLS, NAME, CALL_ID_MARKER, CALL_ID, ARGS, ARGUMENTS),
        separator="",
        end=EOS,
        stops=(EOS,),
        reasoning=ReasoningSyntax(THINK, END_THINK),
        call_id_characters=ALPHANUMERICS,
        call_id_length=ID_LENGTH,
    )

    def new_call_id(self) -> str:
        """9 alphanumerics, the only ids Mistral's template accepts."""
        return random_call_id(prefix="", length=ID_LENGTH)

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        system = options.system_prompt
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        parts = [f"[SYSTEM_PROMPT]{default_system_prompt() if system is None else system}[/SYSTEM_PROMPT]"]
        users = [index for index, message in enumerate(rest) if isinstance(message, UserMessage)]
        last_user = users[-1] if users else None
        for index, message in enumerate(rest):
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                calls = [(call.id, call.function) for call in message.tool_calls or []]
                calls = calls or [(call.name, call) for call in message.calls()]
                body = "".join(_call_text(call.name, mistral_call_id(call_id), call.parsed_arguments())
                               for call_id, call in calls)
                parts.append((body or text) + EOS)
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                call_id = (message.tool_call_id if isinstance(message, ToolMessage) else None) or message.name or ""
                parts.append(f"[TOOL_RESULTS]{mistral_call_id(call_id)}[TOOL_CONTENT]{text}[/TOOL_RESULTS]")
            elif isinstance(message, UserMessage):
                if index == last_user and tools and options.describe_tools:
                    listed = json.dumps([tool.model_dump(exclude_none=True) for tool in tools], ensure_ascii=False)
                    parts.append(f"[AVAILABLE_TOOLS]{listed}[/AVAILABLE_TOOLS]")
                parts.append(f"[INST]{text}[/INST]")
            else:
                parts.append(f"[SYSTEM_PROMPT]{text}[/SYSTEM_PROMPT]")
        return "".join(parts)

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Call ids of 9 alphanumerics, which the template insists on."""
        return nine_character_ids(messages), tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Text, then each call with its id mapped to 9 alphanumerics."""
        calls = [(call.id, call.function) for call in message.tool_calls or []]
        calls = calls or [(call.name, call) for call in message.calls()]
        body = "".join(_call_text(call.name, mistral_call_id(call_id), call.parsed_arguments())
                       for call_id, call in calls)
        return message_text(message.content) + body

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial, parse_answer=lambda answer: parse_v11(answer, partial=partial)
        )

