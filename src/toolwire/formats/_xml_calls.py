"""Calls whose arguments are tagged parameters (`CallSyntax.parameters`), as Qwen3-Coder,
Seed-OSS, MiniMax-M2 and GLM write them; read and written from the `CallSyntax` alone::

    <tool_call>
    <function=plan_trip>
    <parameter=city>
    Paris
    </parameter>
    <parameter=stops>
    [{"city": "Lyon", "nights": 2}]
    </parameter>
    </function>
    </tool_call>

Reading:
  * Literals match with any whitespace where they have some, and before their tags
    (models put newlines where templates do not); a tool's name ends at whitespace or at
    the next literal.
  * A value is typed by the tool's schema (`tools`): a string parameter is the raw text;
    other values are JSON, else a Python literal (Seed-OSS's and Qwen3-Coder's templates
    write `True`, `None` and `{'a': 1}`), else the raw text as a string: nothing is lost.
    A nullable string parameter reads `null`/`None` as null.
  * A value ends at a *structural* closing tag: `</parameter>` followed (after
    whitespace) by the next parameter or the end of the call. A value holding
    `</parameter>` or `<tool_call>` as text is read whole, arrays of objects included
    (llama.cpp #21771).
  * Arguments are JSON object text built as the parameters arrive: a string value streams
    character by character, other values arrive whole; keys keep the model's order.
  * Text before and after the calls is content; a call that does not read (a stray tag, a
    missing value) is content from its start, with everything after it.

Writing (`render_calls`): string values raw, other values as JSON.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from toolwire.formats._scan import held_back, reject_constant, skip_space
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, ParameterSyntax, ValueKind
from toolwire.types import AssistantMessage, ParsedCall, ParsedMessage, Tool, message_text

__all__ = ["parse_parameter_calls", "render_calls"]

PENDING = -1
"""`_match`: the text ended inside the literal."""

Status = Literal["call", "pending", "invalid"]

_decoder = json.JSONDecoder(parse_constant=reject_constant)


@dataclass(frozen=True)
class _Shape:
    """A call template split at its slots: head NAME after_name ARGUMENTS tail."""

    head: str
    after_name: str
    tail: str
    parameter: ParameterSyntax

    @classmethod
    def of(cls, syntax: CallSyntax) -> _Shape:
        call = list(syntax.call)
        if syntax.parameters is None or NAME not in call or ARGUMENTS not in call:
            raise ValueError("a parameters call syntax needs NAME, ARGUMENTS and `parameters`")
        name, arguments = call.index(NAME), call.index(ARGUMENTS)
        text = lambda items: "".join(item for item in items if isinstance(item, str))  # noqa: E731
        return cls(text(call[:name]), text(call[name + 1:arguments]), text(call[arguments + 1:]), syntax.parameters)

    def name_stops(self) -> str:
        """Characters that end a tool's name (besides whitespace)."""
        following = _tokens(self.after_name) or [self.parameter.begin.strip(), self.tail.strip()]
        return "".join(token[0] for token in following if token)


# --- writing --------------------------------------------------------------------------------


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render_calls(message: AssistantMessage, syntax: CallSyntax) -> str:
    """An assistant turn's text and calls as `syntax` writes them."""
    shape = _Shape.of(syntax)
    parameter = shape.parameter
    calls = []
    for call in message.calls():
        arguments = "".join(
            parameter.begin + key + parameter.key_end + _value_text(value) + parameter.end
            for key, value in call.parsed_arguments().items())
        calls.append(shape.head + call.name + shape.after_name + arguments + shape.tail)
    content = message_text(message.content)
    if not calls:
        return content
    block = syntax.calls_begin + syntax.separator.join(calls) + syntax.calls_end
    return content + syntax.text_to_calls + block if content else block


# --- reading: literals, names, values -------------------------------------------------------


def _tokens(literal: str) -> list[str]:
    """The pieces of a literal between which whitespace may be written: its words, and
    adjacent tags split apart (`</arg_key><arg_value>`)."""
    return [token for word in literal.split() for token in word.replace("><", ">\0<").split("\0")]


def _match(text: str, position: int, literal: str) -> int | None:
    """The index after `literal` written at `text[position:]`, whitespace-tolerant; PENDING
    when the text ends inside it; None when something else is written there."""
    for token in _tokens(literal):
        position = skip_space(text, position)
        if text.startswith(token, position):
            position += len(token)
        elif token.startswith(text[position:]):
            return PENDING
        else:
            return None
    return position


def _jsonable(value: Any) -> Any:
    """A Python literal as a JSON value (tuples become lists); anything else is refused."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _jsonable(item) for key, item in value.items()}
    raise ValueError("not a JSON value")


def _typed(raw: str, kind: ValueKind) -> Any:
    """The value written as `raw` for a parameter of `kind` (see the module docstring)."""
    if kind == "text":
        return raw
    if kind == "text-or-null":
        return None if raw.strip() in ("null", "None") else raw
    text = raw.strip()
    try:
        value, end = _decoder.raw_decode(text)
        if end == len(text):
            return value
    except ValueError:
        pass
    try:
        return _jsonable(ast.literal_eval(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return raw


def _property_schemas(tools: Sequence[Tool], name: str) -> dict[str, Any]:
    for tool in tools:
        if tool.name == name:
            properties = (tool.function.parameters or {}).get("properties")
            return properties if isinstance(properties, dict) else {}
    return {}


# --- reading: calls ---------------------------------------------------------------------------


@dataclass
class _Reader:
    text: str
    syntax: CallSyntax
    shape: _Shape
    tools: Sequence[Tool]
    partial: bool

    def value_end(self, start: int, closing: tuple[str, ...]) -> tuple[int | None, bool]:
        """(index of the tag that ends the value opening at `start`, whether that is
        decided). A tag followed by something other than `closing` is part of the value."""
        end_tag = _tokens(self.shape.parameter.end)[0]
        search = start
        while True:
            found = self.text.find(end_tag, search)
            if found < 0:
                return None, False
            rest = self.text[skip_space(self.text, found + len(end_tag)):]
            if any(rest.startswith(tag) for tag in closing):
                return found, True
            if not rest:
                return found, not self.partial
            if self.partial and any(tag.startswith(rest) for tag in closing):
                return found, False
            search = found + 1

    def call(self, position: int) -> tuple[ParsedCall | None, int, Status]:
        """The call written at `position`, the index after it, and how it reads. A call is
        announced (while `partial`) once a parameter has opened or the call has closed: a
        stray tag after the name makes it content."""
        text, shape = self.text, self.shape
        start = _match(text, position, shape.head)
        if start is None or start == PENDING:
            return None, position, "invalid" if start is None else "pending"
        end = start
        while end < len(text) and text[end] not in shape.name_stops() and not text[end].isspace():
            end += 1
        if end == len(text):
            return None, position, "pending" if self.partial else "invalid"  # the name may go on
        if end == start:
            return None, position, "invalid"
        index = _match(text, end, shape.after_name)
        if index is None:
            return None, position, "invalid"
        call = ParsedCall(text[start:end], "", complete=False)
        schemas = _property_schemas(self.tools, call.name)
        members: list[str] = []
        while index != PENDING:
            closed = _match(text, index, shape.tail)
            if closed is not None and closed != PENDING:
                call.arguments, call.complete = "{" + ", ".join(members) + "}", True
                return call, closed, "call"
            member, after, status = self.parameter(index, schemas)
            if status == "invalid" and closed != PENDING:
                return None, position, "invalid"
            if member is not None:
                members.append(member)
            if status != "call":
                break  # the text ends inside a tag or a value
            assert after is not None
            index = after
        if not self.partial:
            # Cut off between parameters: the complete ones are the call; anything else is content.
            if members and index != PENDING and skip_space(text, index) == len(text):
                call.arguments, call.complete = "{" + ", ".join(members) + "}", True
                return call, len(text), "call"
            return None, position, "invalid"
        call.arguments = "{" + ", ".join(members)
        return (call if members else None), len(text), "pending"

    def parameter(self, index: int, schemas: dict[str, Any]) -> tuple[str | None, int | None, Status]:
        """The parameter opening at `index`: (its JSON member text, the index after it,
        "call") once it is complete; while `partial` text ends inside it, (the member so
        far, a string value streamed, or None before its key is complete, None,
        "pending"); (None, None, "invalid") when something else is written there."""
        text, parameter = self.text, self.shape.parameter
        opened = _match(text, index, parameter.begin)
        if opened is None:
            return None, None, "invalid"
        if opened == PENDING:
            return None, PENDING, "pending"
        key_stop = text.find(_tokens(parameter.key_end)[0], opened)
        if key_stop < 0:
            return None, PENDING, "pending"
        key = text[opened:key_stop].strip()
        value_start = _match(text, key_stop, parameter.key_end)
        if value_start is None or not key:
            return None, None, "invalid"
        key_end_space = parameter.key_end[len(parameter.key_end.rstrip()):]
        if value_start == PENDING or (key_end_space.startswith(text[value_start:])
                                      and not text.startswith(key_end_space, value_start)):
            return None, PENDING, "pending"
        if text.startswith(key_end_space, value_start):
            value_start += len(key_end_space)
        member = json.dumps(key, ensure_ascii=False) + ": "
        kind = ParameterSyntax.value_kind(schemas.get(key))
        end_tag = _tokens(parameter.end)[0]
        end_space = parameter.end[: len(parameter.end) - len(parameter.end.lstrip())]
        value_end, decided = self.value_end(value_start, (_tokens(parameter.begin)[0], _tokens(self.shape.tail)[0]))
        raw = text[value_start:len(text) if value_end is None else value_end]
        if not decided:
            if value_end is None and not self.partial:
                return None, None, "invalid"
            if value_end is None:
                raw = raw[: len(raw) - held_back(raw, [end_space + end_tag, end_tag])]
            if end_space:
                raw = raw.rstrip()  # trailing whitespace may be the delimiter
            streamed = json.dumps(raw, ensure_ascii=False)[:-1] if kind == "text" else ""
            return member + streamed, PENDING, "pending"
        assert value_end is not None
        if end_space and raw.endswith(end_space):
            raw = raw[: -len(end_space)]
        after = _match(text, value_end, parameter.end)
        if after is None:
            return None, None, "invalid"
        return member + json.dumps(_typed(raw, kind), ensure_ascii=False), after, "call"

    def block(self, position: int) -> tuple[list[ParsedCall], int, Status]:
        """The calls of the block at `position` (after `calls_begin`), the index after the
        last one that reads (and after `calls_end`), and how the block ends."""
        calls: list[ParsedCall] = []
        if self.syntax.calls_begin:
            opened = _match(self.text, position, self.syntax.calls_begin)
            if opened is None or opened == PENDING:
                return calls, position, "invalid" if opened is None or not self.partial else "pending"
            position = opened
        while True:
            call, end, status = self.call(position)
            if status != "call":
                if call is not None:
                    calls.append(call)
                if status == "invalid" and calls:
                    return calls, position, "call"
                return calls, position, status
            assert call is not None
            calls.append(call)
            position = end
            if self.syntax.calls_end:
                closed = _match(self.text, position, self.syntax.calls_end)
                if closed is not None and closed != PENDING:
                    return calls, closed, "call"
                if closed == PENDING and self.partial:
                    return calls, len(self.text), "pending"
            following = _match(self.text, position, self.shape.head)
            if following is None or (following == PENDING and not self.partial):
                return calls, position, "call"


def parse_parameter_calls(text: str, syntax: CallSyntax, tools: Sequence[Tool], *, partial: bool) -> ParsedMessage:
    """Content and calls of an answer written as `syntax` says (see the module docstring)."""
    reader = _Reader(text, syntax, _Shape.of(syntax), tools, partial)
    trigger = syntax.trigger_text().strip()
    result = ParsedMessage()
    position = 0
    while True:
        start = text.find(trigger, position)
        if start < 0:
            tail = text[position:]
            if partial:
                tail = tail[: len(tail) - held_back(tail, [trigger])].rstrip()
            result.content += _content(tail, after_call=bool(result.calls))
            return result
        calls, end, status = reader.block(start)
        if not calls and status == "invalid":
            result.content += _content(text[position:], after_call=bool(result.calls))
            return result
        result.content += _content(text[position:start], after_call=bool(result.calls)).rstrip()
        result.calls.extend(calls)
        if status == "pending":
            return result
        position = end


def _content(segment: str, *, after_call: bool) -> str:
    """Text between calls: after a call, without the whitespace that separates them."""
    return segment.lstrip() if after_call else segment
