"""granite-3 (`<|tool_call|>` lists, `<think>` + `<response>`) and granite-4 (`<tool_call>` JSON)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

G3 = get_format("granite-3")
G4 = get_format("granite-4")
LIST = '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]'


@pytest.mark.parametrize("fmt,text,reasoning,content,calls", [
    (G3, LIST, "", "", [("get_weather", {"city": "Paris"})]),
    (G3, "<think>The user greets me; no <|tool_call|> needed.</think><response>Hello!</response>",
     "The user greets me; no <|tool_call|> needed.", "Hello!", []),
    (G3, "<think>Weather.</think>" + LIST, "Weather.", "", [("get_weather", {"city": "Paris"})]),
    (G3, "Plain answer.", "", "Plain answer.", []),
    (G4, 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', "",
     "Checking.", [("get_weather", {"city": "Paris"})]),
], ids=["g3_call", "g3_thinking_response", "g3_thinking_call", "g3_text", "g4_text_call"])
def test_parse(fmt, text, reasoning, content, calls):
    parsed = fmt.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    assert_streaming_equivalent(fmt, text)


@pytest.mark.parametrize("fmt", [G3, G4], ids=["granite-3", "granite-4"])
@settings(max_examples=100, deadline=None)
@given(message=assistant_turns(content_with_calls=True))
def test_round_trip(fmt, message):
    assert_round_trip(fmt, message)


@settings(max_examples=100, deadline=None)
@given(message=assistant_turns(content_with_calls=False, reasoning=thoughts("<|tool_call|>")))
def test_granite3_round_trip_with_thinking(message):
    assert_round_trip(G3, message)


def test_granite3_render():
    user = parse_messages([{"role": "user", "content": "Hi"}])
    thinking = G3.render(user, (), RenderOptions(thinking=True))
    assert "Write your thoughts between <think></think>" in thinking
    with_tools = G3.render(user, TOOLS[:1])
    assert "respond only with <|tool_call|> followed by a JSON list" in with_tools
    assert '<|start_of_role|>available_tools<|end_of_role|>[\n    {\n        "type": "function"' in with_tools
    assert with_tools.endswith("<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>")
    call = assistant(None, ("get_weather", {"city": "Paris"}))
    assert G3.render_reply(call) == '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
