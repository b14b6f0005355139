"""qwen3: Hermes calls after a `<think>` block."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

FMT = get_format("qwen3")

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
THOUGHT_WITH_TRIGGER = "I could write <tool_call> myself, or </tool_call>; better call get_weather."
THINK_THEN_CALL = f"<think>\n{THOUGHT_WITH_TRIGGER}\n</think>\n\n{CALL}"

CASES = {
    "no_thinking": (CALL, "", "", [("get_weather", {"city": "Paris"})]),
    "trigger_inside_thinking": (THINK_THEN_CALL, THOUGHT_WITH_TRIGGER, "", [("get_weather", {"city": "Paris"})]),
    "empty_block_then_text": ("<think>\n\n</think>\n\nSunny.", "", "Sunny.", []),
    "unclosed_block_is_reasoning": ("<think>\nmaybe " + CALL, "maybe " + CALL, "", []),
    "text_then_call": (f"<think>\nok\n</think>\n\nLet me check.\n{CALL}", "ok", "Let me check.",
                       [("get_weather", {"city": "Paris"})]),
}


@pytest.mark.parametrize("text,reasoning,content,calls", CASES.values(), ids=CASES.keys())
def test_parse(text, reasoning, content, calls):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    assert_streaming_equivalent(FMT, text)


def test_a_prompt_that_opens_the_block():
    opened = FMT.for_prompt("<|im_start|>assistant\n<think>\n")
    text = f"{THOUGHT_WITH_TRIGGER}\n</think>\n\n{CALL}"
    parsed = opened.parse(text)
    assert (parsed.reasoning, call_pairs(parsed)) == (THOUGHT_WITH_TRIGGER, [("get_weather", {"city": "Paris"})])
    assert_streaming_equivalent(opened, text)
    assert FMT.for_prompt("<|im_start|>assistant\n<think>\n\n</think>\n\n") is FMT


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=True, reasoning=thoughts("<tool_call>", "</tool_call>")))
def test_round_trip(message):
    assert_round_trip(FMT, message)


def test_render_reasoning_after_the_last_query_only():
    messages = parse_messages([
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "reasoning_content": "old thought", "content": "Which city?"},
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "reasoning_content": "use the tool", "tool_calls": [
            {"id": "c1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ])
    prompt = FMT.render(messages, [WEATHER], RenderOptions(thinking=False))
    assert "old thought" not in prompt and "<|im_start|>assistant\nWhich city?<|im_end|>" in prompt
    assert f"<|im_start|>assistant\n<think>\nuse the tool\n</think>\n\n{CALL}<|im_end|>" in prompt
    assert prompt.startswith("<|im_start|>system\n# Tools\n\nYou may call one or more functions")
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert FMT.render(messages[:1]) == "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n"


def test_render_reply_writes_the_block():
    message = assistant(None, ("get_weather", {"city": "Paris"})).model_copy(update={"reasoning_content": "go"})
    assert FMT.render_reply(message) == f"<think>\ngo\n</think>\n\n{CALL}"
