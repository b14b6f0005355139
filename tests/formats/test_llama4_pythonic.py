"""llama4-pythonic: Llama 4's `[name(key=value), ...]` calls on `<|header_start|>` turns."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    NESTED, TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import get_format

FMT = get_format("llama4-pythonic")
LLAMA4 = template("llama-4-pythonic.jinja", parser="llama4-pythonic")

CASES = {
    "text": ("Hello there.", assistant("Hello there.")),
    "one_call": ('[get_weather(city="Paris")]', assistant(None, ("get_weather", {"city": "Paris"}))),
    "parallel": ('  [get_weather(city="Paris"), get_time()]', assistant(None, ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "templates_spelling_typed_by_schema": (
        "[book(guests=\"[{'name': 'Ann', 'age': 3}]\", vip=\"True\", note=\"None\", price=\"2.5\")]",
        assistant(None, ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "note": "None", "price": 2.5}))),
    "strings_stay_strings": ('[get_weather(city="3")]', assistant(None, ("get_weather", {"city": "3"}))),
    "text_then_list_is_content": ('Sure: [get_time()]', assistant('Sure: [get_time()]')),
}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [text for text, _ in CASES.values()], ids=CASES.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_a_spelled_value_that_does_not_fit_stays_a_string():
    parsed = FMT.parse('[book(price="cheap", vip="yes")]', tools=[NESTED])
    assert parsed.calls[0].parsed_arguments() == {"price": "cheap", "vip": "yes"}


def test_render_writes_python_literals_where_the_template_writes_strings():
    messages = CONVERSATIONS["call_and_result"][:1] + [assistant(None, ("book", {"vip": True, "price": 2.5}))]
    assert "[book(vip=True, price=2.5)]<|eot|>" in FMT.render(messages, TOOLS)
    assert '[book(vip="True", price="2.5")]<|eot|>' in LLAMA4.render(messages, TOOLS)


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name):
    """The conversations' arguments are strings, which both write alike."""
    assert renders_like_template(FMT, LLAMA4, CONVERSATIONS[name], TOOLS)
    assert renders_like_template(FMT, LLAMA4, CONVERSATIONS[name], [])


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant(None, ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
], ids=["unicode", "parallel_nested"])
def test_template_replies_parse_back(message):
    reply = template_reply(LLAMA4, message, TOOLS)
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
