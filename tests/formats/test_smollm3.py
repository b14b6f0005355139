"""smollm3: Hermes calls after `<think>`, SmolLM3's reasoning modes."""

from __future__ import annotations

from hypothesis import given, settings

from tests.formats.harness import TOOLS, assert_round_trip, assert_streaming_equivalent, assistant_turns, call_pairs, thoughts
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

FMT = get_format("smollm3")


def test_parse_thinking_then_call():
    text = ('<think>\nI could type <tool_call> myself.\n</think>\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.reasoning, call_pairs(parsed)) == ("I could type <tool_call> myself.", [("get_weather", {"city": "Paris"})])
    assert_streaming_equivalent(FMT, text)


@settings(max_examples=100, deadline=None)
@given(assistant_turns(content_with_calls=True, reasoning=thoughts("<tool_call>")))
def test_round_trip(message):
    assert_round_trip(FMT, message)


def test_reasoning_modes():
    user = parse_messages([{"role": "user", "content": "Hi"}])
    assert "Reasoning Mode: /think" in FMT.render(user) and FMT.render(user).endswith("<|im_start|>assistant\n")
    off = FMT.render(user, (), RenderOptions(thinking=False))
    assert "Reasoning Mode: /no_think" in off and off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n")
    forced = FMT.render(parse_messages([{"role": "system", "content": "Be brief. /no_think"}, *user[:1]]))
    assert "Reasoning Mode: /no_think" in forced and "## Custom Instructions\n\nBe brief.\n\n" in forced
    with_tools = FMT.render(user, TOOLS[:1])
    assert '### Tools\n\n' in with_tools and '\n{"type": "function", "function": {"name": "get_weather"' in with_tools
