"""functiongemma: `<start_function_call>call:NAME{key:<escape>value<escape>}<end_function_call>`."""

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
)
from tests.formats.template_replies import CONVERSATIONS, template, template_reply
from toolwire.formats import get_format

FMT = get_format("functiongemma")
FUNCTIONGEMMA = template("functiongemma.jinja", parser="functiongemma")

E = "<escape>"
PARIS = f"<start_function_call>call:get_weather{{city:{E}Paris{E}}}<end_function_call>"
CASES = {
    "text_after_a_newline": ("\nHello there.", assistant("Hello there.")),
    "one_call": (PARIS, assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_parallel": ("\nLet me check." + PARIS + "<start_function_call>call:get_time{}<end_function_call>",
                           assistant("Let me check.", ("get_weather", {"city": "Paris"}), ("get_time", {}))),
    "googles_syntax": (f"<start_function_call>call:book{{guests:[{{age:3,name:{E}Ann{E}}}],vip:false}}<end_function_call>",
                       assistant(None, ("book", {"guests": [{"age": 3, "name": "Ann"}], "vip": False}))),
    "vllm_templates_syntax_typed_by_schema": (
        f"<start_function_call>call:book{{guests:{E}[{{'name': 'Ann', 'age': 3}}]{E},vip:{E}True{E},note:{E}None{E}}}<end_function_call>",
        assistant(None, ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "note": "None"}))),
    "unclosed_call_is_content": ("<start_function_call>call:get_weather{city:", assistant("<start_function_call>call:get_weather{city:")),
}
ANNOUNCED = {"unclosed_call_is_content"}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    parsed = FMT.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)


@pytest.mark.parametrize("text", [t for k, (t, _) in CASES.items() if k not in ANNOUNCED],
                         ids=[k for k in CASES if k not in ANNOUNCED])
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text)


def test_render_lists_tools_without_a_system_message_and_parameterless_tools():
    prompt = FMT.render(CONVERSATIONS["user"], TOOLS)
    assert prompt.startswith("<start_of_turn>user\n\nAvailable functions:\nFunction: get_weather\n")
    assert "Function: get_time\nDescription: No description provided\nParameters: {\"type\": \"object\", \"properties\": {}}" in prompt
    assert prompt == FUNCTIONGEMMA.render(CONVERSATIONS["user"], TOOLS)  # the template gets the same (`template_input`)


def test_render_equals_the_template_where_it_writes_the_same():
    for name in ("user", "system_user", "call_and_result"):
        assert FMT.render(CONVERSATIONS[name], TOOLS) == FUNCTIONGEMMA.render(CONVERSATIONS[name], TOOLS), name
    # Deliberate: the template drops a call turn's text; toolwire keeps it.
    parallel = CONVERSATIONS["parallel_text_and_results"]
    assert "<start_of_turn>model\nChecking.<start_function_call>" in FMT.render(parallel, TOOLS)
    assert "<start_of_turn>model<start_function_call>" in FUNCTIONGEMMA.render(parallel, TOOLS)


@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant(None, ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "price": 9.5})),
    assistant(None, ("todo.addTodo", {"todo": "<start_function_call>call:x{} } ,"})),
], ids=["unicode", "parallel_nested", "markers"])
def test_template_replies_parse_back(message):
    reply = template_reply(FUNCTIONGEMMA, message, TOOLS)
    assert call_pairs(FMT.parse(reply, tools=TOOLS)) == call_pairs(message)
    assert_streaming_equivalent(FMT, reply)


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=FMT.supports_content_with_calls()))
def test_round_trip(message):
    assert_round_trip(FMT, message)
