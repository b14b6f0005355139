"""Checks shared by every format's tests: round trip, streaming equivalence, strategies.

Each format test module supplies its fixtures (wire text -> expected message) and calls
these; nothing here knows any format.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from hypothesis import strategies as st

from toolwire.formats.base import Format
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, ReasoningDelta, StreamParser
from toolwire.types import AssistantMessage, FunctionCall, ParsedCall, ParsedMessage, Tool, ToolCall

CHUNK_SIZES = (1, 2, 3, 7, None)

WEATHER = Tool.model_validate({"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}})
NO_PARAMETERS = Tool.model_validate({"type": "function", "function": {"name": "get_time"}})
ADD_TODO = Tool.model_validate({"type": "function", "function": {
    "name": "todo.addTodo", "description": "Add a todo to the list",
    "parameters": {"type": "object", "properties": {
        "todo": {"type": "string", "description": "The todo to add to the list."}},
        "required": ["todo"]}}})
NESTED = Tool.model_validate({"type": "function", "function": {
    "name": "book", "parameters": {"type": "object", "properties": {
        "guests": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "age": {"type": "integer"}}}},
        "vip": {"type": "boolean"}, "note": {"type": ["string", "null"]},
        "price": {"type": "number"}}}}})
TOOLS = [WEATHER, NO_PARAMETERS, ADD_TODO, NESTED]


def call_pairs(message: AssistantMessage | ParsedMessage) -> list[tuple[str, Any]]:
    """(name, decoded arguments) of each call, for comparing messages across formats."""
    if isinstance(message, ParsedMessage):
        return [(call.name, json.loads(call.arguments)) for call in message.calls]
    return [(call.name, call.parsed_arguments()) for call in message.calls()]


def assistant(content: str | None = None, *calls: tuple[str, dict[str, Any]]) -> AssistantMessage:
    """An assistant message with the given content and (name, arguments) calls."""
    tool_calls = [ToolCall(id=f"call_{i}", function=FunctionCall(name=name, arguments=args))
                  for i, (name, args) in enumerate(calls)]
    return AssistantMessage(content=content, tool_calls=tool_calls or None)


def assert_round_trip(fmt: Format, message: AssistantMessage, tools: Sequence[Tool] = TOOLS) -> None:
    """parse(render_reply(message)) == message (content and calls)."""
    text = fmt.render_reply(message, tools)
    parsed = fmt.parse(text, tools=tools)
    assert (parsed.content or None) == (message.content or None), text
    assert call_pairs(parsed) == call_pairs(message), text
    assert parsed.reasoning == (message.reasoning_content or ""), text
    assert_streaming_equivalent(fmt, text, tools)


def stream(fmt: Format, text: str, chunk: int | None, tools: Sequence[Tool] = TOOLS) -> ParsedMessage:
    """Feed `text` in chunks, check the event invariants, and fold events into a message."""
    parser = StreamParser(fmt, tools)
    pieces = [text] if chunk is None else [text[i:i + chunk] for i in range(0, len(text), chunk)]
    events = [event for piece in pieces for event in parser.feed(piece)] + parser.finish()
    folded = ParsedMessage()
    names_seen: set[int] = set()
    for event in events:
        if isinstance(event, ReasoningDelta):
            folded.reasoning += event.text
        elif isinstance(event, ContentDelta):
            folded.content += event.text
        elif isinstance(event, CallStart):
            assert event.index == len(folded.calls), "call indices must be consecutive"
            assert event.index not in names_seen, "a call's name arrives exactly once"
            names_seen.add(event.index)
            assert event.name, "a call starts with its full name"
            folded.calls.append(ParsedCall(event.name, "", id=event.id))
        elif isinstance(event, ArgumentsDelta):
            assert event.index < len(folded.calls)
            folded.calls[event.index].arguments += event.text
    return folded


def assert_streaming_equivalent(fmt: Format, text: str, tools: Sequence[Tool] = TOOLS) -> None:
    """Fed in chunks of 1, 2, 3, 7 characters and whole, the events add up to the one-shot parse."""
    expected = fmt.parse(text, tools=tools)
    for chunk in CHUNK_SIZES:
        folded = stream(fmt, text, chunk, tools)
        assert folded.reasoning == expected.reasoning, (chunk, text)
        assert folded.content == expected.content, (chunk, text)
        assert [(c.name, c.arguments) for c in folded.calls] == [(c.name, c.arguments) for c in expected.calls], (chunk, text)


# --- hypothesis strategies -------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00<>[]{}`"), min_size=1, max_size=30)
_strings = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


def _weather_args() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"city": _strings}, optional={"unit": st.sampled_from(["celsius", "fahrenheit"])})


def _nested_args() -> st.SearchStrategy[dict[str, Any]]:
    guest = st.fixed_dictionaries({"name": _strings, "age": st.integers(-10, 10**6)})
    return st.fixed_dictionaries({}, optional={
        "guests": st.lists(guest, max_size=3), "vip": st.booleans(),
        # Known limitation: tagged-parameter formats (GLM, Qwen3-Coder, MiniMax, Seed-OSS) write a
        # string raw, as their templates do, so a nullable string spelled `null`/`None` reads as null.
        "note": st.one_of(st.none(), _strings.filter(lambda s: s.strip() not in ("null", "None"))), "price": st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3))})


def calls() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A (name, arguments) call of one of TOOLS, arguments matching its schema."""
    return st.one_of(
        st.tuples(st.just("get_weather"), _weather_args()),
        st.tuples(st.just("get_time"), st.just({})),
        st.tuples(st.just("todo.addTodo"), st.fixed_dictionaries({"todo": _strings})),
        st.tuples(st.just("book"), _nested_args()),
    )


def assistant_turns(
    *, content_with_calls: bool, max_calls: int = 3, reasoning: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[AssistantMessage]:
    """Assistant turns: text only, one call, parallel calls; with text before calls when
    the format allows it; each with a thinking block drawn from `reasoning` (when given)
    or none."""
    text_only = _text.filter(lambda s: s.strip() == s and s.strip()).map(lambda s: assistant(s))
    with_calls = st.lists(calls(), min_size=1, max_size=max_calls).map(lambda cs: assistant(None, *cs))
    options = [text_only, with_calls]
    if content_with_calls:
        options.append(st.tuples(_text.filter(lambda s: s.strip() == s and s.strip()), st.lists(calls(), min_size=1, max_size=max_calls))
                       .map(lambda pair: assistant(pair[0], *pair[1])))
    turns = st.one_of(options)
    if reasoning is None:
        return turns
    return st.tuples(turns, st.one_of(st.none(), reasoning)).map(
        lambda pair: pair[0].model_copy(update={"reasoning_content": pair[1]}))


def thoughts(*markers: str) -> st.SearchStrategy[str]:
    """Reasoning text: words, and the given markers (a format's call trigger), trimmed."""
    words = st.one_of(_text, st.sampled_from(markers or ("hmm",)))
    return st.lists(words, min_size=1, max_size=5).map(" ".join).map(str.strip).filter(bool)
