"""lfm2: LFM2's `<|tool_call_start|>[name(key=value)]<|tool_call_end|>` calls on ChatML."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
)
from tests.formats.template_replies import CONVERSATIONS, template
from toolwire.formats import get_format

FMT = get_format("lfm2")
LFM2 = template("lfm2-8b-a1b.jinja", parser="lfm2")

START, END = "<|tool_call_start|>", "<|tool_call_end|>"
CASES = {
    "text": ("Hello there.", assistant("Hello there.")),
    "one_call": (START + '[get_weather(city="Paris")]' + END, assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_before": ("Let me check." + START + "[get_time()]" + END, assistant("Let me check.", ("get_time", {}))),
    "text_after_as_the_model_card_shows": (START + '[get_weather(city="Paris")]' + END + "Checking Paris.",
                                           assistant("Checking Paris.", ("get_weather", {"city": "Paris"}))),
    "parallel_nested_json_literals": (START + '[get_time(), book(guests=[{"name": "Ann", "age": 3}], vip=true, note=null)]' + END,
                                      assistant(None, ("get_time", {}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "note": None}))),
    "markers_in_strings": (START + '[todo.addTodo(todo="<|tool_call_end|>])")]' + END,
                           assistant(None, ("todo.addTodo", {"todo": "<|tool_call_end|>])"}))),
    "missing_end_marker": (START + "[get_time()]", assistant(None, ("get_time", {}))),
    "not_a_list_is_content": (START + "get_time()" + END, assistant(START + "get_time()" + END)),
    "code_is_content": (START + "[get_weather(city=open('x'))]" + END, assistant(START + "[get_weather(city=open('x'))]" + END)),
}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [text for text, _ in CASES.values()], ids=CASES.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_partial_holds_back_the_marker_and_a_call_arrives_whole():
    assert FMT.parse("Sure.<|tool_call_st", partial=True).content == "Sure."
    assert FMT.parse(START + '[get_weather(city="Par', partial=True).calls == []
    assert [c.name for c in FMT.parse(START + '[get_weather(city="Paris")', partial=True).calls] == ["get_weather"]


def test_render_writes_the_calls_the_template_leaves_out():
    """The template renders a call turn as `null`; LFM2's documentation puts the call text
    into the content, which toolwire renders (a deliberate difference)."""
    messages = CONVERSATIONS["call_and_result"]
    assert "<|im_start|>assistant\nnull<|im_end|>" in LFM2.render(messages, TOOLS)
    assert '<|im_start|>assistant\n<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|><|im_end|>' in FMT.render(messages, TOOLS)
    without_calls = [message for message in messages if message.role != "assistant"]
    assert FMT.render(without_calls, TOOLS) == LFM2.render(without_calls, TOOLS)
    for name in ("user", "system_user"):
        assert FMT.render(CONVERSATIONS[name], TOOLS) == LFM2.render(CONVERSATIONS[name], TOOLS)
        assert FMT.render(CONVERSATIONS[name], []) == LFM2.render(CONVERSATIONS[name], [])


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
