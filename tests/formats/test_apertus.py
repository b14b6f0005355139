"""apertus: Apertus' inner thoughts, then `<|tools_prefix|>[{"NAME": {...}}]<|tools_suffix|>`."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, stream,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import RenderOptions, get_format
from toolwire.formats.apertus import render_tools
from toolwire.types import Tool

FMT = get_format("apertus")
APERTUS = template("apertus-8b-instruct.jinja", parser="apertus")

CALLS = '<|tools_prefix|>[{"get_weather": {"city": "Paris"}}]<|tools_suffix|>'
THOUGHT = "<|inner_prefix|>Maybe <|tools_prefix|>[] by hand? No.<|inner_suffix|>"
CASES = {
    "text": ("Hello there.", "", assistant("Hello there.")),
    "one_call": (CALLS, "", assistant(None, ("get_weather", {"city": "Paris"}))),
    "thought_then_call": (THOUGHT + CALLS, "Maybe <|tools_prefix|>[] by hand? No.", assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_parallel": ('Checking.<|tools_prefix|>[{"get_time": {}}, {"todo.addTodo": {"todo": "]<|tools_suffix|>"}}]<|tools_suffix|>',
                           "", assistant("Checking.", ("get_time", {}), ("todo.addTodo", {"todo": "]<|tools_suffix|>"}))),
    "text_after": (CALLS + " Done.", "", assistant(" Done.", ("get_weather", {"city": "Paris"}))),
    "not_calls_is_content": ('<|tools_prefix|>[{"a": 1}]<|tools_suffix|>', "", assistant('<|tools_prefix|>[{"a": 1}]<|tools_suffix|>')),
    "thought_then_text": ("<|inner_prefix|>Easy.<|inner_suffix|>Hi.", "Easy.", assistant("Hi.")),
}
ANNOUNCED = {"not_calls_is_content"}


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


def test_a_trigger_in_the_thoughts_is_reasoning_streamed_too():
    folded = stream(FMT, THOUGHT + CALLS, 1)
    assert folded.reasoning == "Maybe <|tools_prefix|>[] by hand? No."
    assert [c.name for c in folded.calls] == ["get_weather"]


def test_tools_as_the_templates_types():
    tool = Tool.model_validate({"type": "function", "function": {"name": "f", "description": "D", "parameters": {
        "type": "object", "required": ["a"], "properties": {
            "a": {"type": "string", "description": "A"}, "b": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
            "c": {"type": "array", "items": {"type": "string"}}, "d": {"type": ["string", "null"]},
            "e": {"type": "number", "default": 3}, "g": {"type": "string", "enum": ["u", "v"], "default": "u"}}}}})
    assert render_tools([tool]) == (
        "// D\ntype f = (_: {\n// A\na: string,\nb?: {\nx: \n                number},\nc?: string[],\n"
        "d?: string | null,\ne?: number, // default: 3,\ng?: \"u\" | \"v\", // default: u\n}) => any;")
    assert render_tools([tool]) in APERTUS.render(CONVERSATIONS["user"], [tool])


def test_template_gets_reasoning_as_thoughts_blocks_in_every_turn():
    messages, tools = FMT.template_input([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None, "reasoning_content": "Use the tool.", "thinking": "Use the tool.",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "assistant", "content": "Noon."}], [WEATHER.model_dump(exclude_none=True)])
    assert messages[1]["content"] == {"blocks": [{"type": "thoughts", "text": "Use the tool."}, {"type": "response", "text": ""}]}
    assert "reasoning_content" not in messages[1] and "thinking" not in messages[1] and messages[1]["tool_calls"]
    assert messages[2]["content"] == {"blocks": [{"type": "response", "text": "Noon."}]}
    assert tools == [WEATHER.model_dump(exclude_none=True)["function"]]
    rendered = APERTUS.template._template.render(messages=messages, tools=None, add_generation_prompt=False, bos_token="")
    assert rendered.endswith('<|assistant_start|><|inner_prefix|>Use the tool.<|inner_suffix|><|tools_prefix|>[{"get_time": {}}]'
                             "<|tools_suffix|>Noon.")


@pytest.mark.parametrize("thinking", [None, True])
@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name, thinking):
    """The template reads tools' functions (`template_input`)."""
    options = RenderOptions(thinking=thinking)
    assert renders_like_template(FMT, APERTUS, CONVERSATIONS[name], TOOLS, options)
    assert renders_like_template(FMT, APERTUS, CONVERSATIONS[name], [], options)
    assert ("Deliberation: enabled" in FMT.render(CONVERSATIONS[name], [WEATHER], options)) == bool(thinking)


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant("Checking.", ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
], ids=["unicode", "text_and_parallel_nested"])
def test_template_replies_parse_back(message):
    reply = template_reply(APERTUS, message, TOOLS)
    parsed = FMT.parse(reply, tools=TOOLS)
    assert call_pairs(parsed) == call_pairs(message) and parsed.content == (message.content or "")
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
