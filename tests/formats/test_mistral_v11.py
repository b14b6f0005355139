"""mistral-v11: Mistral Small 3.2 `[TOOL_CALLS]NAME[CALL_ID]ID[ARGS]{...}` calls."""

import re

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import get_format
from toolwire.formats.mistral_v11 import default_system_prompt
from toolwire.types import parse_messages

FMT = get_format("mistral-v11")
SMALL = template("mistral-small-3.2-24b-instruct-2506.jinja", parser="mistral-v11", eos_token="</s>")

PARIS = '[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"city": "Paris"}'
CASES = {
    "text": ("Hello there.", assistant("Hello there.")),
    "one_call": (PARIS, assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_two": ("Let me check." + PARIS + "[TOOL_CALLS]todo.addTodo[CALL_ID]Zz9Yy8Xx7[ARGS]{\"todo\": \"X\"}",
                      assistant("Let me check.", ("get_weather", {"city": "Paris"}), ("todo.addTodo", {"todo": "X"}))),
    "without_call_id": ('[TOOL_CALLS]get_time[ARGS]{}', assistant(None, ("get_time", {}))),
    "whitespace_between_calls": (PARIS + "\n[TOOL_CALLS]get_time[CALL_ID]000000000[ARGS] {} ",
                                 assistant(None, ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "markers_in_arguments": ('[TOOL_CALLS]todo.addTodo[ARGS]{"todo": "[TOOL_CALLS]x[ARGS]{}"}',
                             assistant(None, ("todo.addTodo", {"todo": "[TOOL_CALLS]x[ARGS]{}"}))),
    "thinking_first": ("[THINK]Call [TOOL_CALLS] now?[/THINK]" + PARIS, assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_after_calls": (PARIS + " Done.", assistant(" Done.", ("get_weather", {"city": "Paris"}))),
    "no_arguments_is_content": ("[TOOL_CALLS]get_weather sorry", assistant("[TOOL_CALLS]get_weather sorry")),
    "not_json_is_content": ("[TOOL_CALLS]get_weather[ARGS]{city: 1}", assistant("[TOOL_CALLS]get_weather[ARGS]{city: 1}")),
    "bad_second_call_is_content": (PARIS + "[TOOL_CALLS]x y[ARGS]{}",
                                   assistant("[TOOL_CALLS]x y[ARGS]{}", ("get_weather", {"city": "Paris"}))),
}
ANNOUNCED = {"not_json_is_content"}
"""Calls announced while streaming (`[ARGS]` came) that turn out not to be calls."""


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [t for k, (t, _) in CASES.items() if k not in ANNOUNCED],
                         ids=[k for k in CASES if k not in ANNOUNCED])
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_call_ids_and_reasoning():
    parsed = FMT.parse("[THINK] Use the tool. [/THINK]" + PARIS)
    assert parsed.reasoning == "Use the tool." and parsed.calls[0].id == "a1B2c3D4e"
    assert FMT.parse("[TOOL_CALLS]get_time[ARGS]{}").calls[0].id is None
    assert re.fullmatch(r"[A-Za-z0-9]{9}", FMT.new_call_id())


def test_partial_waits_for_the_name_and_holds_back_the_marker():
    assert FMT.parse("Sure.[TOOL_CA", partial=True).content == "Sure."
    assert FMT.parse("[TOOL_CALLS]get_wea", partial=True).calls == []
    assert FMT.parse("[TOOL_CALLS]get_weather[CALL_ID]a1B2", partial=True).calls == []
    partial = FMT.parse('[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"ci', partial=True)
    assert [(c.name, c.arguments, c.id) for c in partial.calls] == [("get_weather", '{"ci', "a1B2c3D4e")]


def test_render_maps_ids_and_drops_text_of_call_turns_as_the_template_does():
    prompt = FMT.render(CONVERSATIONS["parallel_text_and_results"], [WEATHER])
    assert "Checking." not in prompt
    ids = re.findall(r"\[CALL_ID\]([^\[]*)\[ARGS\]", prompt)
    results = re.findall(r"\[TOOL_RESULTS\]([^\[]*)\[TOOL_CONTENT\]", prompt)
    assert ids == results and all(re.fullmatch(r"[A-Za-z0-9]{9}", i) for i in ids) and len(set(ids)) == 2
    assert prompt.startswith("[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT]")
    assert FMT.render(CONVERSATIONS["user"]).startswith("[SYSTEM_PROMPT]" + default_system_prompt())


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name):
    """Foreign ids reach the template as 9 alphanumerics too (`template_input`)."""
    assert renders_like_template(FMT, SMALL, CONVERSATIONS[name], TOOLS)
    assert renders_like_template(FMT, SMALL, CONVERSATIONS[name], [])


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant(None, ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
    assistant(None, ("todo.addTodo", {"todo": "[TOOL_CALLS]get_time[ARGS]{}"})),
], ids=["unicode", "parallel_nested", "markers"])
def test_template_replies_parse_back(message):
    reply = template_reply(SMALL, message, TOOLS)
    assert "[CALL_ID]" in reply
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)
    assert_streaming_equivalent(FMT, reply)


def test_template_refuses_bad_ids_without_the_adapter():
    from toolwire.errors import TemplateError
    from toolwire.formats.sandbox import ChatTemplate

    messages = parse_messages([{"role": "user", "content": "Hi"}, {"role": "assistant", "tool_calls": [
        {"id": "call_abc", "function": {"name": "get_time", "arguments": "{}"}}]}])
    with pytest.raises(TemplateError, match="alphanumeric strings with length 9"):
        ChatTemplate(SMALL.template.source).render(messages)
    assert "[TOOL_CALLS]get_time[CALL_ID]" in SMALL.render(messages, TOOLS)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
