"""harmony (gpt-oss): channels, `to=` recipients, analysis as reasoning."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    NESTED, TOOLS, assert_round_trip, assert_streaming_equivalent, assistant_turns, call_pairs, stream, thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import Tool, parse_messages

FMT = get_format("harmony")
ANALYSIS = "<|channel|>analysis<|message|>I could write to=functions.get_time here.<|end|>"
CALL_TEMPLATE_ORDER = ' to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Paris"}<|call|>'
CALL_MODEL_ORDER = '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}'
PARIS = [("get_weather", {"city": "Paris"})]

CASES = {
    "analysis_then_call": (ANALYSIS + "<|start|>assistant" + CALL_TEMPLATE_ORDER,
                           "I could write to=functions.get_time here.", "", PARIS),
    "recipient_after_channel_no_call_token": (CALL_MODEL_ORDER, "", "", PARIS),
    "final_answer": (ANALYSIS + "<|start|>assistant<|channel|>final<|message|>Sunny.<|return|>",
                     "I could write to=functions.get_time here.", "Sunny.", []),
    "preamble_then_call": ("<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant" + CALL_TEMPLATE_ORDER,
                           "", "Checking.", PARIS),
    "two_analysis_messages": ("<|channel|>analysis<|message|>One.<|end|><|start|>assistant<|channel|>analysis<|message|>"
                              "Two.<|end|><|start|>assistant<|channel|>final<|message|>Done.", "One.\n\nTwo.", "Done.", []),
    "terminator_inside_arguments": (' to=functions.todo.addTodo<|channel|>commentary json<|message|>{"todo": "a <|call|> b"}',
                                    "", "", [("todo.addTodo", {"todo": "a <|call|> b"})]),
    "not_harmony_is_content": ("Just text, no channels.", "", "Just text, no channels.", []),
    "arguments_not_json_are_content": (' to=functions.get_weather<|channel|>commentary json<|message|>city=Paris<|call|>',
                                       "", ' to=functions.get_weather<|channel|>commentary json<|message|>city=Paris<|call|>', []),
}


@pytest.mark.parametrize("text,reasoning,content,calls", CASES.values(), ids=CASES.keys())
def test_parse(text, reasoning, content, calls):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)


STREAMED = {key: text for key, (text, *_) in CASES.items() if key != "arguments_not_json_are_content"}


@pytest.mark.parametrize("text", STREAMED.values(), ids=STREAMED.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_plain_text_streams_at_once():
    folded = stream(FMT, "Just text", 1)
    assert folded.content == "Just text"
    assert FMT.parse("Just te", partial=True).content == "Just te"


@settings(max_examples=100, deadline=None)
@given(assistant_turns(content_with_calls=False, max_calls=1, reasoning=thoughts("to=functions.", "<|channel|>")))
def test_round_trip(message):
    assert_round_trip(FMT, message, [*TOOLS[:3], NESTED])


def test_render_system_developer_and_typescript_tools():
    enum_tool = Tool.model_validate({"type": "function", "function": {"name": "f", "description": "F.", "parameters": {
        "type": "object", "properties": {"n": {"type": "integer", "description": "N.", "default": 3},
                                        "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["n"]}}})
    prompt = FMT.render(parse_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
                        [enum_tool], RenderOptions(reasoning_effort="high"))
    assert "\nReasoning: high\n\n# Valid channels: analysis, commentary, final." in prompt
    assert "Calls to these tools must go to the commentary channel: 'functions'.<|end|>" in prompt
    assert ("<|start|>developer<|message|># Instructions\n\nBe brief.\n\n# Tools\n\n## functions\n\nnamespace functions {\n\n"
            "// F.\ntype f = (_: {\n// N.\nn: number, // default: 3,\ntags?: string[],\n}) => any;\n\n} // namespace functions<|end|>") in prompt
    assert prompt.endswith("<|start|>user<|message|>Hi<|end|><|start|>assistant")
