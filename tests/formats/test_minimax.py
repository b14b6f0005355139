"""minimax-m2: `<invoke>` blocks inside `<minimax:tool_call>`, after `<think>`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    NESTED, TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
    thoughts,
)
from toolwire.formats import get_format

FMT = get_format("minimax-m2")
OPENED = FMT.for_prompt("]~b]ai\n<think>\n")
BLOCK = ('<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n'
         '<invoke name="book">\n<parameter name="guests">[{"name": "Ann", "age": 3}]</parameter>\n'
         '<parameter name="vip">true</parameter>\n</invoke>\n</minimax:tool_call>')
CALLS = [("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})]


@pytest.mark.parametrize("fmt,text,reasoning,content,calls", [
    (OPENED, "Mention <minimax:tool_call> only.\n</think>\n\nLet me check.\n" + BLOCK, "Mention <minimax:tool_call> only.",
     "Let me check.", CALLS),
    (OPENED, "</think>\n\n" + BLOCK, "", "", CALLS),
    (FMT, BLOCK, "", "", CALLS),
    (FMT, BLOCK.replace("Paris", "a </parameter> b </invoke> c"), "", "",
     [("get_weather", {"city": "a </parameter> b </invoke> c"}), CALLS[1]]),
    (OPENED, "still thinking <minimax:tool_call>", "still thinking <minimax:tool_call>", "", []),
], ids=["thinking_text_calls", "empty_thinking", "no_thinking", "markers_in_a_value", "unclosed_thinking"])
def test_parse(fmt, text, reasoning, content, calls):
    parsed = fmt.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    assert_streaming_equivalent(fmt, text)


@pytest.mark.parametrize("fmt", [FMT, OPENED], ids=["closed", "opened"])
@settings(max_examples=100, deadline=None)
@given(message=assistant_turns(content_with_calls=True, reasoning=thoughts("<minimax:tool_call>", "<invoke")))
def test_round_trip(fmt, message):
    assert_round_trip(fmt, message, [WEATHER, *TOOLS[1:3], NESTED])


def test_render_reply_after_the_opened_block():
    message = assistant("Sunny.").model_copy(update={"reasoning_content": "Easy."})
    assert OPENED.render_reply(message) == "Easy.\n</think>\n\nSunny."
    assert FMT.render_reply(message) == "<think>\nEasy.\n</think>\n\nSunny."
