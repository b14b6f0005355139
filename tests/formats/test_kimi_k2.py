"""kimi-k2: Kimi-K2's call section, each call named by its id `functions.NAME:INDEX`."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, stream,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import get_format
from toolwire.formats.kimi_k2 import kimi_call_id
from toolwire.types import parse_messages

FMT = get_format("kimi-k2")
KIMI = template("kimi-k2-instruct.jinja", parser="kimi-k2")

BEGIN, END = "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"


def call(call_id: str, arguments: str) -> str:
    return f"<|tool_call_begin|>{call_id}<|tool_call_argument_begin|>{arguments}<|tool_call_end|>"


PARIS = call("functions.get_weather:0", '{"city": "Paris"}')
CASES = {
    "text": ("Hello there.", assistant("Hello there.")),
    "one_call": (BEGIN + PARIS + END, assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_two": ("Let me check." + BEGIN + PARIS + call("functions.get_time:1", "{}") + END,
                      assistant("Let me check.", ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "dotted_name_and_spacing": (BEGIN + "\n" + call(" functions.todo.addTodo:7 ", ' {"todo": "X"} ') + "\n" + END,
                                assistant(None, ("todo.addTodo", {"todo": "X"}))),
    "id_without_functions_prefix": (BEGIN + call("get_time:3", "{}") + END, assistant(None, ("get_time", {}))),
    "call_without_section_markers": (PARIS, assistant(None, ("get_weather", {"city": "Paris"}))),
    "markers_in_arguments": (BEGIN + call("functions.todo.addTodo:0", '{"todo": "<|tool_call_end|><|tool_calls_section_end|>"}') + END,
                             assistant(None, ("todo.addTodo", {"todo": "<|tool_call_end|><|tool_calls_section_end|>"}))),
    "text_after_section": (BEGIN + PARIS + END + " Done.", assistant(" Done.", ("get_weather", {"city": "Paris"}))),
    "not_json_is_content": (BEGIN + call("functions.get_weather:0", "{city: Paris}") + END,
                            assistant(BEGIN + call("functions.get_weather:0", "{city: Paris}") + END)),
    "nan_is_content": (BEGIN + call("functions.book:0", '{"price": NaN}') + END,
                       assistant(BEGIN + call("functions.book:0", '{"price": NaN}') + END)),
    "bad_second_call_is_content": (BEGIN + PARIS + call("functions.get_time:1", "[]") + END,
                                   assistant(call("functions.get_time:1", "[]") + END, ("get_weather", {"city": "Paris"}))),
    "empty_section_is_content": (BEGIN + END, assistant(BEGIN + END)),
}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


ANNOUNCED = {"not_json_is_content", "nan_is_content", "bad_second_call_is_content"}
"""Calls announced while streaming (their name is in the id) that turn out not to be calls."""
STREAMED = {key: text for key, (text, _) in CASES.items() if key not in ANNOUNCED}


@pytest.mark.parametrize("text", STREAMED.values(), ids=STREAMED.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_the_models_call_ids_are_the_calls_ids():
    parsed = FMT.parse(BEGIN + PARIS + call("functions.todo.addTodo:12", '{"todo": "X"}') + END)
    assert [c.id for c in parsed.calls] == ["functions.get_weather:0", "functions.todo.addTodo:12"]
    assert [c.id for c in stream(FMT, BEGIN + PARIS + END, 1).calls] == ["functions.get_weather:0"]


def test_partial_holds_back_markers_and_streams_arguments():
    assert FMT.parse("Sure.<|tool_calls_sec", partial=True).content == "Sure."
    assert FMT.parse(BEGIN + "<|tool_call_begin|>functions.get_wea", partial=True).calls == []
    partial = FMT.parse(BEGIN + "<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"ci", partial=True)
    assert [(c.name, c.arguments, c.complete) for c in partial.calls] == [("get_weather", '{"ci', False)]


def test_call_ids_of_other_shapes_become_kimis_for_call_and_result():
    assert kimi_call_id("functions.get_time:4", "get_time", 0) == "functions.get_time:4"
    assert kimi_call_id("call_abc", "get_time", 2) == "functions.get_time:2"
    prompt = FMT.render(CONVERSATIONS["call_and_result"], [WEATHER])
    assert "<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>" in prompt
    assert "## Return of functions.get_weather:0\nsunny" in prompt


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name):
    """The template itself gets Kimi's ids too (`template_input`)."""
    assert renders_like_template(FMT, KIMI, CONVERSATIONS[name], TOOLS)
    assert renders_like_template(FMT, KIMI, CONVERSATIONS[name], [])


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant("Checking.", ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
    assistant(None, ("todo.addTodo", {"todo": "<|tool_call_begin|> } ]"})),
], ids=["unicode", "text_and_parallel_nested", "markers"])
def test_template_replies_parse_back(message):
    reply = template_reply(KIMI, message, TOOLS)
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)
    assert FMT.parse(reply, tools=TOOLS).content == (message.content or "")
    assert_streaming_equivalent(FMT, reply)


def test_template_replies_name_calls_by_their_index():
    message = parse_messages([{"role": "assistant", "tool_calls": [
        {"id": "x", "function": {"name": "get_time", "arguments": "{}"}},
        {"id": "y", "function": {"name": "get_time", "arguments": "{}"}}]}])[0]
    assert template_reply(KIMI, message, TOOLS).count("functions.get_time:") == 2
    assert "functions.get_time:1<|tool_call_argument_begin|>" in template_reply(KIMI, message, TOOLS)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
