"""phi-4-mini: Phi-4-mini's `functools[{"name": ..., "arguments": ...}]` calls."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
)
from tests.formats.template_replies import CONVERSATIONS, template, template_reply
from toolwire.formats import RenderOptions, get_format

FMT = get_format("phi-4-mini")
PHI = template("phi-4-mini.jinja", parser="phi-4-mini")

PARIS = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
CASES = {
    "text": ("Hello there.", assistant("Hello there.")),
    "functools": ("functools[" + PARIS + "]", assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_parallel": ('Checking. functools[' + PARIS + ', {"name": "get_time", "parameters": {}}]',
                           assistant("Checking. ", ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "history_shape": (PARIS + ',{"name": "get_time", "arguments": {}}', assistant(None, ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "markers_in_strings": ('functools[{"name": "todo.addTodo", "arguments": {"todo": "functools[]"}}]',
                           assistant(None, ("todo.addTodo", {"todo": "functools[]"}))),
    "text_after": ("functools[" + PARIS + "] Done.", assistant(" Done.", ("get_weather", {"city": "Paris"}))),
    "not_a_call_is_content": ('functools[{"nam": 1}]', assistant('functools[{"nam": 1}]')),
    "json_that_is_no_call_is_content": ('{"answer": 42}', assistant('{"answer": 42}')),
}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [text for text, _ in CASES.values()], ids=CASES.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_partial_holds_back_the_marker():
    assert FMT.parse("Sure. functo", partial=True).content == "Sure. "
    partial = FMT.parse('functools[{"name": "get_weather", "arguments": {"ci', partial=True)
    assert [(c.name, c.arguments) for c in partial.calls] == [("get_weather", '{"ci')]


def test_render_equals_the_template_except_where_documented():
    for name in ("user", "system_user", "call_and_result"):
        for tools in (TOOLS, []):
            assert FMT.render(CONVERSATIONS[name], tools) == PHI.render(CONVERSATIONS[name], tools), name
    # Deliberate: the template ends with `<|assistant|>` whatever `add_generation_prompt`
    # says, and drops the calls of a turn that also has text.
    assert PHI.render(CONVERSATIONS["user"], [], RenderOptions(add_generation_prompt=False)).endswith("<|assistant|>")
    assert FMT.render(CONVERSATIONS["user"], [], RenderOptions(add_generation_prompt=False)).endswith("Hi<|end|>")
    assert '<|assistant|>Checking.{"name": "get_weather"' in FMT.render(CONVERSATIONS["parallel_text_and_results"], TOOLS)


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant(None, ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
], ids=["unicode", "parallel_nested"])
def test_template_replies_parse_back(message):
    reply = template_reply(PHI, message, TOOLS)
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
