"""A `ToolCallConstraint` as an xgrammar structural tag (vLLM's `structured_outputs`
`structural_tag`, SGLang's `response_format` of type `structural_tag`).

Structural tags describe calls the way engines dispatch them: each call is a `tag`
(`begin` = the call's literal text up to its arguments, `content` = the arguments,
`end` = the literal text after them). Built from the format's `CallSyntax` only:

    thinking (when the format has a block):  optional tag(begin, any text, end) first
    auto, text before calls:  [text_prefix] triggered_tags(trigger -> one tag per tool)
                              (or, when the format wraps its calls in a block, one tag for
                              the block whose content is tags_with_separator), or calls alone
    auto, calls stand alone:  or(text reply, calls block)
    required / named:         calls block: calls_begin tags_with_separator(at_least_one) calls_end
    resume:                   the calls block without calls_begin
    one call only:            stop_after_first

JSON arguments are `json_schema` contents; Python-keyword and positional arguments, and
free text that may not open like a call, are `grammar` contents in xgrammar EBNF. A call
with an index or id slot (Kimi-K2, Mistral v11) is a tag whose content is the sequence
from that slot to its arguments. A format's thinking block is an optional tag of any text
before all this; the free text of a triggered tag cannot be kept from opening like that
block, so (unlike the EBNF) a reply that never closes its block may pass as text there.
"""

from __future__ import annotations

from typing import Any

from toolwire.constrain.builder import arguments_grammar, call_parts, slot_grammar, text_grammar
from toolwire.constrain.constraints import ToolCallConstraint, Vocabulary, closed_schema
from toolwire.constrain.ebnf import render_ebnf
from toolwire.constrain.ir import Text
from toolwire.formats.base import ARGUMENTS, CallSyntax, Slot
from toolwire.types import NamedToolChoice, Tool

__all__ = ["structural_tag"]

Format = dict[str, Any]


def structural_tag(constraint: ToolCallConstraint, vocabulary: Vocabulary = Vocabulary()) -> dict[str, Any]:
    """The structural tag (`{"type": "structural_tag", "format": ...}`) of one chat turn."""
    return {"type": "structural_tag", "format": _StructuralTag(constraint, vocabulary).turn()}


class _StructuralTag:
    def __init__(self, request: ToolCallConstraint, vocabulary: Vocabulary) -> None:
        self.request = request
        self.vocabulary = vocabulary
        self.syntax: CallSyntax = request.syntax
        choice = request.tool_choice
        tools = list(request.tools) if choice != "none" else []
        if isinstance(choice, NamedToolChoice):
            tools = [tool for tool in tools if tool.name == choice.name]
        self.tools = tools
        self.single = isinstance(choice, NamedToolChoice) or not request.parallel_tool_calls

    def turn(self) -> Format:
        return self.after_thinking(self.answer())

    def answer(self) -> Format:
        if not self.tools:
            return self.text_reply()
        if self.request.tool_choice != "auto" or self.request.resume:
            return self.calls_block()
        if self.syntax.text_before_calls:
            return _or(self.text_then_calls(), self.calls_block())
        return _or(self.text_reply(), self.calls_block())

    def after_thinking(self, answer: Format) -> Format:
        """`answer` after the format's thinking block: a tag of any text (a trigger in it
        is text), optional unless the prompt opened it."""
        reasoning = self.syntax.reasoning
        if reasoning is None or self.request.resume:
            return answer
        begin = "" if reasoning.opened_by_prompt else reasoning.begin
        thinking = {"type": "tag", "begin": begin, "content": {"type": "any_text"},
                    "end": reasoning.end + reasoning.separator}
        if reasoning.opened_by_prompt:
            return _sequence(thinking, answer)
        return _sequence({"type": "optional", "content": thinking}, answer)

    # -- pieces -------------------------------------------------------------------------

    def arguments(self, tool: Tool) -> Format:
        if self.syntax.arguments == "json":
            return {"type": "json_schema", "json_schema": closed_schema(self.request.schemas[tool.name])}
        grammar = arguments_grammar(self.request, tool, self.vocabulary)
        return {"type": "grammar", "grammar": render_ebnf(grammar)}

    def tag(self, tool: Tool, begin_prefix: str | None = None) -> Format:
        """One call of `tool`; `begin_prefix` replaces the template's leading literal. The
        tag's content is the arguments, or what lies between the call's first slot and
        its last (Kimi-K2's index, its marker, the arguments)."""
        before, middle, after = call_parts(self.syntax, tool)
        if begin_prefix is not None:
            before = begin_prefix + before[len(_first_literal(self.syntax)):]
        content = _sequence(*(self.part(tool, item) for item in middle))
        return {"type": "tag", "begin": before, "content": content, "end": after}

    def part(self, tool: Tool, item: str | Slot) -> Format:
        if item is ARGUMENTS:
            return self.arguments(tool)
        if isinstance(item, str):
            return {"type": "const_string", "value": item}
        return {"type": "grammar", "grammar": render_ebnf(slot_grammar(self.request, item, self.vocabulary))}

    def text(self) -> Format:
        text = text_grammar(self.request, self.vocabulary)
        if text.start == Text():
            return {"type": "any_text"}
        return {"type": "grammar", "grammar": render_ebnf(text)}

    def text_reply(self) -> Format:
        syntax = self.syntax
        body = {"type": "json_schema", "json_schema": {"type": "string"}} if syntax.text_is_json_string else self.text()
        return _sequence(_const(syntax.text_prefix), body, _const(syntax.text_suffix))

    def calls_block(self) -> Format:
        """calls_begin, the calls separated by the separator, calls_end; with one call
        only, an optional newline may end it (FINDINGS.md #2)."""
        calls = {"type": "tags_with_separator", "tags": [self.tag(tool) for tool in self.tools],
                 "separator": self.syntax.separator, "at_least_one": True, "stop_after_first": self.single}
        closing = _const(self.syntax.calls_end)
        if closing is None and self.single:
            closing = {"type": "optional", "content": _const("\n")}
        begin = None if self.request.resume else _const(self.syntax.calls_begin)
        return _sequence(begin, calls, closing)

    def text_then_calls(self) -> Format:
        """Free text; from the trigger on, calls (each one a triggered tag, or one tag for
        the whole block when the format wraps calls in `calls_begin`/`calls_end`)."""
        syntax = self.syntax
        trigger = syntax.trigger_text()
        lead_in = syntax.lead_in()
        at = lead_in.find(trigger)
        if at < 0:
            raise ValueError(f"trigger {trigger!r} is not in the lead-in {lead_in!r}")
        if not syntax.calls_begin and not syntax.calls_end:
            tags = [self.tag(tool, begin_prefix=lead_in[at:]) for tool in self.tools]
            triggered = {"type": "triggered_tags", "triggers": [trigger], "tags": tags,
                         "at_least_one": False, "stop_after_first": self.single}
        else:
            head = (syntax.text_to_calls + syntax.calls_begin)[at:] or trigger
            block = self.calls_block()
            content = next(part for part in block.get("elements", [block]) if part["type"] == "tags_with_separator")
            triggered = {"type": "triggered_tags", "triggers": [head],
                         "tags": [{"type": "tag", "begin": head, "content": content, "end": syntax.calls_end}],
                         "at_least_one": False, "stop_after_first": True}
        return _sequence(_const(syntax.text_prefix), triggered)


def _first_literal(syntax: CallSyntax) -> str:
    first = syntax.call[0]
    return first if isinstance(first, str) else ""


def _const(text: str) -> Format | None:
    return {"type": "const_string", "value": text} if text else None


def _sequence(*parts: Format | None) -> Format:
    kept = [part for part in parts if part is not None]
    return kept[0] if len(kept) == 1 else {"type": "sequence", "elements": kept}


def _or(*options: Format) -> Format:
    return {"type": "or", "elements": list(options)}
