"""nemotron: a JSON list in `<TOOLCALL>` after `<think>` (the `_json_list` reader)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

FMT = get_format("nemotron")
OPENED = FMT.for_prompt("<SPECIAL_11>Assistant\n<think>\n")
CALLS = '<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]</TOOLCALL>'
TWO = [("get_weather", {"city": "Paris"}), ("get_time", {})]


@pytest.mark.parametrize("fmt,text,reasoning,content,calls", [
    (OPENED, "I might write <TOOLCALL> here.\n</think>\n\nLet me check.\n" + CALLS, "I might write <TOOLCALL> here.",
     "Let me check.", TWO),
    (FMT, CALLS, "", "", TWO),
    (FMT, '<TOOLCALL>[{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}]</TOOLCALL>', "", "", TWO[:1]),
    (FMT, '<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"oops": 1}]</TOOLCALL>', "",
     '{"oops": 1}]</TOOLCALL>', TWO[:1]),
    (FMT, "<TOOLCALL>not a list", "", "<TOOLCALL>not a list", []),
    (FMT, CALLS + "\nDone.", "", "Done.", TWO),
], ids=["opened_with_trigger_in_thinking", "calls", "arguments_as_a_string", "bad_element", "not_a_list", "text_after"])
def test_parse(fmt, text, reasoning, content, calls):
    parsed = fmt.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    assert_streaming_equivalent(fmt, text)


@pytest.mark.parametrize("fmt", [FMT, OPENED], ids=["closed", "opened"])
@settings(max_examples=100, deadline=None)
@given(message=assistant_turns(content_with_calls=True, reasoning=thoughts("<TOOLCALL>", "[")))
def test_round_trip(fmt, message):
    assert_round_trip(fmt, message)


def test_thinking_switches():
    user = parse_messages([{"role": "user", "content": "Hi /no_think"}])
    assert FMT.render(user).endswith("<SPECIAL_11>User\nHi\n<SPECIAL_11>Assistant\n<think></think>")
    assert FMT.render(user, (), RenderOptions(thinking=True)).endswith("<SPECIAL_11>Assistant\n<think>\n")
    hi = parse_messages([{"role": "user", "content": "Hi"}])
    assert FMT.render(hi, (), RenderOptions(thinking=False)).endswith("<think></think>")
    assert FMT.for_prompt(FMT.render(hi)).syntax.reasoning.opened_by_prompt
    assert not FMT.for_prompt(FMT.render(user)).syntax.reasoning.opened_by_prompt


def test_render_reply():
    message = assistant("Checking.", ("get_weather", {"city": "Paris"})).model_copy(update={"reasoning_content": "Go."})
    assert OPENED.render_reply(message) == (
        'Go.\n</think>\n\nChecking.\n<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</TOOLCALL>')
