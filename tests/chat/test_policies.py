"""chat.policies: each decision on hand-made cases, including every breakage the first
version's policies had (issue 11)."""

from __future__ import annotations

import math

import pytest

from tests.chat.scripted import SURE, UNSURE, chunks
from toolwire.chat.policies import (
    MAX_HELD,
    Policies,
    answered_calls,
    classify_opening,
    confidence,
    confident,
    continue_calls,
    grounded,
    is_error_result,
    named_tool,
    parse_policies,
    repeat_exempt,
    repeats_a_call,
)
from toolwire.errors import RequestError
from toolwire.types import ParsedCall, parse_messages

NAMES = ["get_weather", "add", "todo.addTodo"]


@pytest.mark.parametrize("text", [
    '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
    '```json\n{"name": "get_weather"',
    '{"name": "add", "arguments": {"a": 1}}',
    '  {"function": "todo.addTodo", "parameters": {}}',
    '[{"name": "add", "arguments": {}}]',
    '```\n{"tool": "add"}',
    '{"function": {"name": "get_weather", "arguments": "{}"}}',
])
def test_call_shaped_json_naming_a_tool_is_a_call(text: str) -> None:
    assert classify_opening(text, NAMES) == "call"
    assert named_tool(text, NAMES) in NAMES


@pytest.mark.parametrize("text", [
    "```python\ndef add(a, b):\n    return a + b\n```",  # code that mentions a tool is code
    "```py",
    '{"answer": 42}',  # JSON naming no tool
    '{"name": "Bob", "age": 3}',  # "name" that is not a tool
    "[1, 2, 3]",
    "# Weather\n",
    "`add` adds numbers",
    '```json\n{"result": "add"}\n```',
])
def test_text_that_is_not_a_call_is_text(text: str) -> None:
    assert classify_opening(text, NAMES) == "text"


@pytest.mark.parametrize("text", ["", "  ", "`", "``", "```", "```js", "```json\n", "{", '{"na', '[', '[ {"name": "ge'])
def test_openings_that_could_still_be_calls_are_undecided(text: str) -> None:
    assert classify_opening(text, NAMES) == "undecided"


def test_a_held_opening_is_bounded() -> None:
    text = '{"data": "' + "x" * (MAX_HELD + 10)
    assert classify_opening(text, NAMES) == "text"


def test_confidence_counts_only_content_the_model_chose() -> None:
    output = chunks('<tool_call>\n{"name": "', ("get_weather", SURE), '", "arguments": {"city": "',
                    ("Tok", math.log(0.3)), ("yo", SURE), ("\"}}", math.log(0.01)), "\n</tool_call>")
    assert confidence(output) == pytest.approx(math.log(0.3))  # `"}}` has no letter or digit: structure
    assert confident(output, 0.25) and not confident(output, 0.5)
    assert confidence(chunks("<tool_call>", '{"name": "x"}')) == 0.0  # all forced: nothing was chosen


def test_the_model_policy_is_the_models_own_odds() -> None:
    ends = ["<|im_end|>", "<|endoftext|>"]
    assert not continue_calls({"<tool_call>": -24.0, "<|im_end|>": -5.0, "<|endoftext|>": -0.1}, ["<tool_call>"], ends, 1.0)
    assert continue_calls({"<tool_call>": -0.2, "<|im_end|>": -3.0, "<|endoftext|>": -2.0}, ["<tool_call>"], ends, 1.0)
    assert not continue_calls({}, ["<tool_call>"], ends, 1.0)


def call(name: str, arguments: str = "{}") -> ParsedCall:
    return ParsedCall(name, arguments)


def test_a_repeat_is_the_same_name_and_arguments_in_any_key_order() -> None:
    earlier = [call("get_weather", '{"city": "Paris", "unit": "C"}')]
    assert repeats_a_call(call("get_weather", '{"unit": "C", "city": "Paris"}'), earlier)
    assert not repeats_a_call(call("get_time", '{"city": "Paris", "unit": "C"}'), earlier)  # same arguments, other tool
    assert not repeats_a_call(call("get_weather", '{"city": "Tokyo", "unit": "C"}'), earlier)


CONVERSATION = [
    {"role": "user", "content": "Is job 42 done?"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                          "function": {"name": "job_status", "arguments": '{"job": 42}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"done": false}'},
]


def test_answered_calls_are_those_with_a_result() -> None:
    messages = parse_messages(CONVERSATION + [
        {"role": "assistant", "tool_calls": [{"id": "c2", "type": "function",
                                              "function": {"name": "cancel", "arguments": "{}"}}]}])
    assert answered_calls(messages) == {("job_status", '{"job": 42}')}


def test_repeats_are_legitimate_after_an_error_or_a_newer_question() -> None:
    assert not repeat_exempt(parse_messages(CONVERSATION))  # straight after a good result: a loop
    polling = CONVERSATION + [{"role": "assistant", "content": "Not yet."}, {"role": "user", "content": "Done yet?"}]
    assert repeat_exempt(parse_messages(polling))  # the user asked again: fresh data wanted
    failed = CONVERSATION[:2] + [{"role": "tool", "tool_call_id": "c1", "content": '{"error": "timeout"}'}]
    assert repeat_exempt(parse_messages(failed))  # a retry
    another = CONVERSATION + [{"role": "user", "content": "add another 'buy milk'"}]
    assert repeat_exempt(parse_messages(another))


@pytest.mark.parametrize(("content", "error"), [
    ('{"error": "no such city"}', True), ("Error: timed out", True), ('{"temp": 21}', False), ("sunny", False)])
def test_error_results(content: str, error: bool) -> None:
    assert is_error_result(content) is error


def test_grounded_is_the_first_versions_rule_and_its_breakages_stay_reachable() -> None:
    messages = parse_messages([{"role": "user", "content": "Stock prices of Apple and Microsoft"}])
    earlier = [call("price", '{"symbol": "AAPL"}')]
    assert not grounded(call("price", '{"symbol": "MSFT"}'), earlier, messages)  # the breakage it had
    assert grounded(call("price", '{"symbol": "Microsoft"}'), earlier, messages)


def test_policies_parse_and_name_bad_fields() -> None:
    base = Policies(parallel_calls="model")
    assert parse_policies({"call_confidence": 0.2}, base) == Policies(parallel_calls="model", call_confidence=0.2)
    assert parse_policies(None, base) is base
    with pytest.raises(RequestError, match=r"toolwire\.parallel_calls: Input should be"):
        parse_policies({"parallel_calls": "free"})
    with pytest.raises(RequestError, match=r"toolwire\.paralel_calls: unknown policy setting"):
        parse_policies({"paralel_calls": "model"})
    with pytest.raises(RequestError, match=r"toolwire\.call_confidence"):
        parse_policies({"call_confidence": 0})
    with pytest.raises(RequestError, match="toolwire: must be an object"):
        parse_policies("model")
