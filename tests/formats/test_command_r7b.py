"""command-r7b: Command R7B's tool plan, then `<|START_ACTION|>[...]<|END_ACTION|>`."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs, stream,
)
from tests.formats.template_replies import CONVERSATIONS, template, template_reply
from toolwire.formats import RenderOptions, get_format

FMT = get_format("command-r7b")
COHERE = template("command-r7b-12-2024-tool_use.jinja", parser="command-r7b")

ACTION = '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"city": "Paris"}}\n]<|END_ACTION|>'
PLAN = "<|START_THINKING|>I will call <|START_ACTION|> for the weather.<|END_THINKING|>"
CASES = {
    "response": ("<|START_RESPONSE|>Hello there.<|END_RESPONSE|>", "", assistant("Hello there.")),
    "bare_text": ("Hello there.", "", assistant("Hello there.")),
    "plan_and_action": (PLAN + ACTION, "I will call <|START_ACTION|> for the weather.",
                        assistant(None, ("get_weather", {"city": "Paris"}))),
    "parallel_compact": ('<|START_ACTION|>[{"tool_call_id": "4", "tool_name": "get_time", "parameters": {}},'
                         '{"tool_call_id": "5", "tool_name": "todo.addTodo", "parameters": {"todo": "]<|END_ACTION|>"}}]<|END_ACTION|>',
                         "", assistant(None, ("get_time", {}), ("todo.addTodo", {"todo": "]<|END_ACTION|>"}))),
    "name_and_arguments_keys": ('<|START_ACTION|>[{"name": "get_time", "arguments": {}}]<|END_ACTION|>', "",
                                assistant(None, ("get_time", {}))),
    "bad_action_is_content": ('<|START_ACTION|>[{"tool_name": 3}]<|END_ACTION|>', "",
                              assistant('<|START_ACTION|>[{"tool_name": 3}]<|END_ACTION|>')),
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


def test_an_action_marker_in_the_plan_is_reasoning_when_streamed():
    folded = stream(FMT, PLAN + ACTION, 1)
    assert folded.reasoning == "I will call <|START_ACTION|> for the weather."
    assert [c.name for c in folded.calls] == ["get_weather"]
    assert FMT.parse(PLAN[:30], partial=True).calls == []


def test_call_ids_count_the_conversations_calls_in_history():
    conversation = CONVERSATIONS["parallel_text_and_results"] + [assistant(None, ("get_time", {}))]
    prompt = FMT.render(conversation, TOOLS)
    assert '"tool_call_id": "2", "tool_name": "get_time"' in prompt
    assert '"tool_call_id": "1",\n        "results": {\n            "0": "rainy <b>"' in prompt
    assert prompt == COHERE.render(conversation, TOOLS)


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_render_equals_the_template(name):
    for tools in (TOOLS, []):
        assert FMT.render(CONVERSATIONS[name], tools) == COHERE.render(CONVERSATIONS[name], tools)
    # Deliberate: the template writes the generation prompt even when asked not to.
    no_prompt = RenderOptions(add_generation_prompt=False)
    assert COHERE.render(CONVERSATIONS[name], [], no_prompt) == FMT.render(CONVERSATIONS[name], [], no_prompt) + (
        "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>")


def test_template_gets_reasoning_as_the_tool_plan():
    adapted, _ = FMT.template_input([{"role": "assistant", "tool_calls": [{}], "reasoning_content": "Plan."}], [])
    assert adapted == [{"role": "assistant", "tool_calls": [{}], "tool_plan": "Plan."}]


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant(None, ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
    assistant("Sunny."),
], ids=["unicode", "parallel_nested", "response"])
def test_template_replies_parse_back(message):
    reply = template_reply(COHERE, message, TOOLS)
    parsed = FMT.parse(reply, tools=TOOLS)
    assert call_pairs(parsed) == call_pairs(message) and parsed.content == (message.content or "")
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
