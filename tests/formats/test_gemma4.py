"""gemma-4: Gemma 4's `<|tool_call>call:NAME{key:<|"|>value<|"|>}<tool_call|>` calls after an
optional thought channel."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, stream,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import RenderOptions, get_format

FMT = get_format("gemma-4")
GEMMA = template("gemma-4-31b-it.jinja", parser="gemma-4")

Q = '<|"|>'
PARIS = f"<|tool_call>call:get_weather{{city:{Q}Paris{Q}}}<tool_call|>"
THOUGHT = "<|channel>thought\nI might write <|tool_call>call:get_time{} here.\n<channel|>"
CASES = {
    "text": ("Hello there.", "", assistant("Hello there.")),
    "one_call_asking_for_results": (PARIS + "<|tool_response>", "", assistant(None, ("get_weather", {"city": "Paris"}))),
    "thought_then_call": (THOUGHT + PARIS, "I might write <|tool_call>call:get_time{} here.",
                          assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_parallel": ("Let me check." + PARIS + "<|tool_call>call:get_time{}<tool_call|>", "",
                           assistant("Let me check.", ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "nested_values": (f"<|tool_call>call:book{{guests:[{{age:3,name:{Q}Ann{Q}}}],note:None,price:-2.5e1,vip:true}}<tool_call|>", "",
                      assistant(None, ("book", {"guests": [{"age": 3, "name": "Ann"}], "note": None, "price": -25.0, "vip": True}))),
    "quoted_keys_and_spaces": (f"<|tool_call>call:todo.addTodo{{ {Q}todo{Q}: {Q}a, b: c}}{Q} }}<tool_call|>", "",
                               assistant(None, ("todo.addTodo", {"todo": "a, b: c}"}))),
    "markers_in_strings": (f"<|tool_call>call:todo.addTodo{{todo:{Q}<tool_call|><|tool_call>call:x{{}}{Q}}}<tool_call|>", "",
                           assistant(None, ("todo.addTodo", {"todo": "<tool_call|><|tool_call>call:x{}"}))),
    "not_gemma_syntax_is_content": ("<|tool_call>call:get_time{x:@}<tool_call|>", "",
                                    assistant("<|tool_call>call:get_time{x:@}<tool_call|>")),
    "thought_then_text": ("<|channel>thought\nEasy.<channel|>Hello.", "Easy.", assistant("Hello.")),
}
ANNOUNCED = {"not_gemma_syntax_is_content"}


@pytest.mark.parametrize("text,reasoning,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, reasoning, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert parsed.reasoning == reasoning
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [t for k, (t, _, _) in CASES.items() if k not in ANNOUNCED],
                         ids=[k for k in CASES if k not in ANNOUNCED])
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_a_call_written_while_thinking_is_reasoning_streamed_too():
    folded = stream(FMT, THOUGHT + PARIS, 1)
    assert folded.reasoning == "I might write <|tool_call>call:get_time{} here."
    assert [c.name for c in folded.calls] == ["get_weather"]


def test_arguments_are_written_sorted_with_null_and_read_back():
    message = assistant(None, ("book", {"vip": False, "note": None, "guests": [{"name": "Zoë", "age": 3}]}))
    reply = FMT.render_reply(message, TOOLS)
    assert reply == f"<|tool_call>call:book{{guests:[{{age:3,name:{Q}Zoë{Q}}}],note:null,vip:false}}<tool_call|><|tool_response>"
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)


def test_thinking_option_writes_think_and_leaves_the_channel_to_the_model():
    on = FMT.render(CONVERSATIONS["user"], [WEATHER], RenderOptions(thinking=True))
    off = FMT.render(CONVERSATIONS["user"], [WEATHER])
    assert on.startswith("<|turn>system\n<|think|>\n") and on.endswith("<|turn>model\n")
    assert off.endswith("<|turn>model\n<|channel>thought\n<channel|>")


@pytest.mark.parametrize("thinking", [None, True])
@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name, thinking):
    options = RenderOptions(thinking=thinking)
    assert renders_like_template(FMT, GEMMA, CONVERSATIONS[name], TOOLS, options)
    assert renders_like_template(FMT, GEMMA, CONVERSATIONS[name], [], options)


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京 «naïve»"})),
    assistant(None, ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "price": 9.5})),
    assistant(None, ("todo.addTodo", {"todo": "<|tool_call>call:x{} <tool_call|> <|channel> } ]"})),
], ids=["unicode", "parallel_nested", "markers"])
def test_template_replies_parse_back(message):
    reply = template_reply(GEMMA, message, TOOLS, RenderOptions(thinking=True))
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
