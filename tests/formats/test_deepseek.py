"""deepseek-v3.1 and deepseek-r1: calls between DeepSeek's special tokens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, stream, thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

V31 = get_format("deepseek-v3.1")
R1 = get_format("deepseek-r1")
V31_THINKING = V31.for_prompt("<｜User｜>Hi<｜Assistant｜><think>")
R1_OPENED = R1.for_prompt("<｜User｜>Hi<｜Assistant｜><think>\n")

B, E, CB, CE, SEP = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"
V31_CALLS = f'{B}{CB}get_weather{SEP}{{"city": "Paris"}}{CE}{CB}get_time{SEP}{{}}{CE}{E}'
R1_CALLS = (f'{B}{CB}function{SEP}get_weather\n```json\n{{"city": "Paris"}}\n```{CE}\n'
            f'{CB}function{SEP}get_time\n```json\n{{}}\n```{CE}{E}')
TWO = [("get_weather", {"city": "Paris"}), ("get_time", {})]


@pytest.mark.parametrize("fmt,text,reasoning,content,calls", [
    (V31, "Let me check." + V31_CALLS, "", "Let me check.", TWO),
    (V31_THINKING, f"I could write {B} myself.</think>" + V31_CALLS, f"I could write {B} myself.", "", TWO),
    (V31, f'{B}{CB}get_weather{SEP}{{"city": "{CE}"}}{CE}{E}', "", "", [("get_weather", {"city": CE})]),
    (V31, f"{B}{CB}get_weather{SEP}not json{CE}{E}", "", f"{B}{CB}get_weather{SEP}not json{CE}{E}", []),
    (R1_OPENED, f"Mentioning {B} while thinking.\n</think>\n\n" + R1_CALLS, f"Mentioning {B} while thinking.", "", TWO),
    # R1's template leaves out the block's end after a single call.
    (R1, f'{B}{CB}function{SEP}get_weather\n```json\n{{"city": "Paris"}}\n```{CE}', "", "", TWO[:1]),
    (R1_OPENED, "never closed " + R1_CALLS, "never closed " + R1_CALLS, "", []),
], ids=["v31_text_calls", "v31_thinking", "v31_marker_in_string", "v31_not_json", "r1_opened", "r1_no_block_end",
        "r1_unclosed_thinking"])
def test_parse(fmt, text, reasoning, content, calls):
    parsed = fmt.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    if calls or not content:
        assert_streaming_equivalent(fmt, text)


def test_not_json_stays_content_when_streamed():
    text = f"{B}{CB}get_weather{SEP}not json{CE}{E}"
    assert stream(V31, text, 1).content == text


@pytest.mark.parametrize("fmt", [V31, V31_THINKING, R1, R1_OPENED], ids=["v31", "v31_thinking", "r1", "r1_opened"])
@settings(max_examples=100, deadline=None)
@given(message=assistant_turns(content_with_calls=True, reasoning=thoughts(B, CB)))
def test_round_trip(fmt, message):
    assert_round_trip(fmt, message)


def test_v31_generation_prompt_switches_thinking():
    user = parse_messages([{"role": "user", "content": "Hi"}])
    assert V31.render(user).endswith("<｜User｜>Hi<｜Assistant｜></think>")
    assert V31.render(user, (), RenderOptions(thinking=True)).endswith("<｜User｜>Hi<｜Assistant｜><think>")
    assert V31.for_prompt(V31.render(user, (), RenderOptions(thinking=True))).syntax.reasoning.opened_by_prompt


def test_render_reply_after_an_opened_block():
    message = assistant(None, ("get_time", {})).model_copy(update={"reasoning_content": "Time."})
    assert V31_THINKING.render_reply(message) == f"Time.</think>{B}{CB}get_time{SEP}{{}}{CE}{E}"
    assert R1_OPENED.render_reply(message).startswith("Time.\n</think>\n\n" + B)
