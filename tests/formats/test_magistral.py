"""magistral: Ministral 3 / Magistral `[THINK]...[/THINK]` then `[TOOL_CALLS]NAME[ARGS]{...}`."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, stream,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import get_format
from toolwire.formats.magistral import DEFAULT_SYSTEM

FMT = get_format("magistral")
MINISTRAL = template("ministral-3-14b-reasoning-2512.jinja", parser="magistral", eos_token="</s>")

PARIS = '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}'
TRIGGER_IN_THOUGHT = "[THINK]I could write [TOOL_CALLS]get_time[ARGS]{} myself, but no.[/THINK]"
CASES = {
    "text": ("Hello there.", "", assistant("Hello there.")),
    "thinking_then_text": ("[THINK]Easy.[/THINK]Hello.", "Easy.", assistant("Hello.")),
    "thinking_then_call": ("[THINK]\nNeed the weather.\n[/THINK]" + PARIS, "Need the weather.",
                           assistant(None, ("get_weather", {"city": "Paris"}))),
    "trigger_inside_thinking": (TRIGGER_IN_THOUGHT + PARIS, "I could write [TOOL_CALLS]get_time[ARGS]{} myself, but no.",
                                assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_calls": ("Checking." + PARIS + "[TOOL_CALLS]get_time[ARGS]{}",
                        "", assistant("Checking.", ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "call_id_read_too": ('[TOOL_CALLS]get_time[CALL_ID]a1B2c3D4e[ARGS]{}', "", assistant(None, ("get_time", {}))),
    "unclosed_thinking_is_all_reasoning": ("[THINK]Hmm " + PARIS, "Hmm " + PARIS, assistant(None)),
    "think_marker_later_is_text": ("Hi [THINK]x[/THINK]", "", assistant("Hi [THINK]x[/THINK]")),
}


@pytest.mark.parametrize("text,reasoning,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, reasoning, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert parsed.reasoning == reasoning
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [text for text, _, _ in CASES.values()], ids=CASES.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_a_trigger_while_thinking_never_starts_a_call_while_streaming():
    text = TRIGGER_IN_THOUGHT + PARIS
    for size in range(1, len(TRIGGER_IN_THOUGHT) + 1):
        assert FMT.parse(text[:size], partial=True).calls == []
    folded = stream(FMT, text, 1)
    assert folded.reasoning == "I could write [TOOL_CALLS]get_time[ARGS]{} myself, but no."
    assert [(c.name, c.arguments) for c in folded.calls] == [("get_weather", '{"city": "Paris"}')]


def test_render_lists_tools_after_the_system_prompt():
    prompt = FMT.render(CONVERSATIONS["call_and_result"], [WEATHER])
    assert prompt.startswith(f"[SYSTEM_PROMPT]{DEFAULT_SYSTEM}[/SYSTEM_PROMPT][AVAILABLE_TOOLS][")
    assert prompt.endswith('[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}</s>[TOOL_RESULTS]sunny[/TOOL_RESULTS]')


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name):
    """Null content of call turns reaches the template as text (`template_input`)."""
    assert renders_like_template(FMT, MINISTRAL, CONVERSATIONS[name], TOOLS)
    assert renders_like_template(FMT, MINISTRAL, CONVERSATIONS[name], [])


def test_template_gets_reasoning_as_a_thinking_block_and_text_for_null_content():
    adapted, _ = FMT.template_input([
        {"role": "assistant", "content": "Hello.", "reasoning_content": "Greet back."},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "user", "content": "Hi"}], [])
    assert adapted == [
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Greet back."}, {"type": "text", "text": "Hello."}]},
        {"role": "assistant", "content": "", "tool_calls": []},
        {"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant("Checking.", ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
    assistant(None, ("todo.addTodo", {"todo": "[THINK] [/THINK] [TOOL_CALLS]x[ARGS]{}"})),
], ids=["unicode", "text_and_parallel_nested", "markers"])
def test_template_replies_parse_back(message):
    reply = template_reply(MINISTRAL, message, TOOLS)
    parsed = FMT.parse(reply, tools=TOOLS)
    assert call_pairs(parsed) == call_pairs(message) and parsed.content == (message.content or "")
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
