"""Magistral / Ministral 3 reasoning tool calls: a `[THINK]` block, then text and one
`[TOOL_CALLS]` per call (Mistral v11+ without call ids), rendered as
Ministral-3-14B-Reasoning-2512's chat template does.

Wire text of an assistant turn::

    [THINK]The user wants the weather; I'll call get_weather.[/THINK]Let me check.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}</s>

A prompt with a call and its result::

    [SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][AVAILABLE_TOOLS][{"type": "function", "function": {...}}][/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST][TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}</s>[TOOL_RESULTS]sunny[/TOOL_RESULTS]

Without a system message the template's default system prompt is used, which asks the
model to think in `[THINK]...[/THINK]` first. The reasoning is the text of a `[THINK]`
block at the start of the reply; `[TOOL_CALLS]` written inside it is reasoning, never a
call. Tools are listed right after the system prompt; results carry no call id. The parser
also reads `[CALL_ID]` ids (Mistral Small 3.2 writes them). A later system message, which
the template refuses, is written as another `[SYSTEM_PROMPT]`. The BOS token is not
written: the engine adds it.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from toolwire.formats._mistral import ARGS, CALLS, END_THINK, THINK, parse_v11
from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ReasoningSyntax, RenderOptions, random_call_id
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

__all__ = ["MagistralFormat"]

EOS = "</s>"
DEFAULT_SYSTEM = (
    "# HOW YOU SHOULD THINK AND ANSWER\n\nFirst draft your thinking process (inner monologue) until you "
    "arrive at a response. Format your response using Markdown, and use LaTeX for any mathematical "
    "equations. Write both your thoughts and the response in the same language as the input.\n\nYour "
    "thinking process must follow the template below:[THINK]Your thoughts or/and draft, like working "
    "through an exercise on scratch paper. Be as casual and as long as you want until you are confident "
    "to generate the response to the user.[/THINK]Here, provide a self-contained response."
)


def _call_text(name: str, arguments: dict[str, Any]) -> str:
    return f"{CALLS}{name}{ARGS}{json.dumps(arguments, ensure_ascii=False)}"


class MagistralFormat(Format):
    name = "magistral"
    syntax = CallSyntax(
        call=(CALLS, NAME, ARGS, ARGUMENTS),
        separator="",
        end=EOS,
        stops=(EOS,),
        reasoning=ReasoningSyntax(THINK, END_THINK),
    )

    def new_call_id(self) -> str:
        """9 alphanumerics, as Mistral's APIs give."""
        return random_call_id(prefix="", length=9)

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
        parts = [f"[SYSTEM_PROMPT]{DEFAULT_SYSTEM if system is None else system}[/SYSTEM_PROMPT]"]
        if tools and options.describe_tools:
            listed = json.dumps([tool.model_dump(exclude_none=True) for tool in tools], ensure_ascii=False)
            parts.append(f"[AVAILABLE_TOOLS]{listed}[/AVAILABLE_TOOLS]")
        for message in rest:
            text = message_text(message.content)
            if isinstance(message, AssistantMessage):
                parts.append(self.render_reply(message, tools) + EOS)
            elif isinstance(message, (ToolMessage, FunctionMessage)):
                parts.append(f"[TOOL_RESULTS]{text}[/TOOL_RESULTS]")
            elif isinstance(message, UserMessage):
                parts.append(f"[INST]{text}[/INST]")
            else:
                parts.append(f"[SYSTEM_PROMPT]{text}[/SYSTEM_PROMPT]")
        return "".join(parts)

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Assistant content as the template reads it: a string (it fails on null), or
        blocks with the reasoning as a `thinking` block, as llama.cpp passes it."""
        adapted = []
        for message in messages:
            if message.get("role") == "assistant":
                text = message.get("content") or ""
                reasoning = message.get("reasoning_content")
                content: Any = text
                if reasoning:
                    content = [{"type": "thinking", "thinking": reasoning}] + ([{"type": "text", "text": text}] if text else [])
                message = {key: value for key, value in message.items() if key not in ("reasoning_content", "thinking")}
                message["content"] = content
            adapted.append(message)
        return adapted, tools

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """The reasoning as a `[THINK]` block (as the template writes the `thinking` block
        `template_input` gives it), the text, then the calls."""
        calls = "".join(_call_text(call.name, call.parsed_arguments()) for call in message.calls())
        thought = THINK + message.reasoning_content + END_THINK if message.reasoning_content else ""
        return thought + message_text(message.content) + calls

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial, parse_answer=lambda answer: parse_v11(answer, partial=partial)
        )
