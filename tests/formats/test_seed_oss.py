"""seed-oss: `<seed:tool_call>` function/parameter calls after `<seed:think>`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    NESTED, TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant_turns, call_pairs, thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

FMT = get_format("seed-oss")


def call(name: str, *parameters: tuple[str, str]) -> str:
    body = "".join(f"<parameter={key}>{value}</parameter>\n" for key, value in parameters)
    return f"<seed:tool_call>\n<function={name}>\n{body}</function>\n</seed:tool_call>"


@pytest.mark.parametrize("text,reasoning,content,calls", [
    ("<seed:think>I might write <seed:tool_call> here.</seed:think>\n" + call("get_weather", ("city", "Paris")),
     "I might write <seed:tool_call> here.", "", [("get_weather", {"city": "Paris"})]),
    # The template writes non-string values with Python's str().
    (call("book", ("guests", "[{'name': 'Ann', 'age': 3}]"), ("vip", "True"), ("note", "None")), "", "",
     [("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "note": None})]),
    ("Checking.\n\n" + call("get_time"), "", "Checking.", [("get_time", {})]),
], ids=["thinking_with_trigger", "python_literals", "text_then_call"])
def test_parse(text, reasoning, content, calls):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    assert_streaming_equivalent(FMT, text)


@settings(max_examples=100, deadline=None)
@given(assistant_turns(content_with_calls=True, reasoning=thoughts("<seed:tool_call>", "<parameter=")))
def test_round_trip(message):
    assert_round_trip(FMT, message, [WEATHER, *TOOLS[1:3], NESTED])


def test_thinking_off_is_a_budget_of_zero():
    prompt = FMT.render(parse_messages([{"role": "user", "content": "Hi"}]), (), RenderOptions(thinking=False))
    assert "your thinking budget is 0" in prompt
    assert prompt.endswith("<seed:bos>assistant\n<seed:think>\n<seed:cot_budget_reflect>The current thinking budget "
                           "is 0, so I will directly start answering the question.</seed:cot_budget_reflect>\n</seed:think>")
    assert FMT.for_prompt(prompt) is FMT
