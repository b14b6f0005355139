"""qwen3-coder: XML function/parameter calls, values typed by the tool's schema (the
`_xml_calls` reader every parameter format shares)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    NESTED, TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
    stream, thoughts,
)
from toolwire.formats import get_format
from toolwire.types import Tool

FMT = get_format("qwen3-coder")
NOTE = Tool.model_validate({"type": "function", "function": {"name": "note", "parameters": {"type": "object", "properties": {
    "text": {"type": "string"}, "tag": {"type": ["string", "null"]}, "count": {"type": "integer"},
    "level": {"enum": ["low", "high"]}, "extra": {}}}}})
ALL = [*TOOLS, NOTE]


def call(name: str, *parameters: tuple[str, str]) -> str:
    body = "".join(f"<parameter={key}>\n{value}\n</parameter>\n" for key, value in parameters)
    return f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"


GUESTS = '[{"name": "Ann", "age": 3}, {"name": "Bo", "age": 40}]'
CASES = {
    "one_call": (call("get_weather", ("city", "Paris")), "", [("get_weather", {"city": "Paris"})]),
    "no_parameters": (call("get_time"), "", [("get_time", {})]),
    # llama.cpp #21771: an array-of-object parameter
    "array_of_objects": (call("book", ("guests", GUESTS), ("vip", "true"), ("note", "null"), ("price", "9.5")), "",
                         [("book", {"guests": json.loads(GUESTS), "vip": True, "note": None, "price": 9.5})]),
    "python_literals": (call("book", ("guests", "[{'name': 'Ann', 'age': 3}]"), ("vip", "True"), ("note", "None")), "",
                        [("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True, "note": None})]),
    "string_stays_raw": (call("get_weather", ("city", '42')), "", [("get_weather", {"city": "42"})]),
    "multi_line_string": (call("todo.addTodo", ("todo", "line 1\n\n  line 2")), "", [("todo.addTodo", {"todo": "line 1\n\n  line 2"})]),
    "markers_inside_a_string": (
        call("todo.addTodo", ("todo", "a </parameter> b <tool_call> c </function> d")), "",
        [("todo.addTodo", {"todo": "a </parameter> b <tool_call> c </function> d"})]),
    "text_then_two_calls": (
        "Let me check.\n\n" + call("get_weather", ("city", "Paris")) + "\n" + call("get_weather", ("city", "東京")),
        "Let me check.", [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "東京"})]),
    "no_newlines_around_values": ("<tool_call><function=get_weather><parameter=city>Paris</parameter></function></tool_call>",
                                  "", [("get_weather", {"city": "Paris"})]),
    "typed_by_schema": (
        call("note", ("text", "null"), ("tag", "None"), ("count", "7"), ("level", "high"), ("extra", "{\"a\": 1}")), "",
        [("note", {"text": "null", "tag": None, "count": 7, "level": "high", "extra": {"a": 1}})]),
    "unparseable_value_is_a_string": (call("book", ("price", "cheap")), "", [("book", {"price": "cheap"})]),
    "nan_is_not_json": (call("book", ("price", "NaN")), "", [("book", {"price": "NaN"})]),
    "stray_tag_is_content": ("<tool_call>\n<function=get_weather>\n<oops>\n</function>\n</tool_call>",
                             "<tool_call>\n<function=get_weather>\n<oops>\n</function>\n</tool_call>", []),
    "truncated_call_is_content": ("Hi\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nPar",
                                  "Hi\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nPar", []),
    "text_after_calls": (call("get_time") + "\nDone.", "Done.", [("get_time", {})]),
    "cut_between_parameters_keeps_the_call": ("<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n",
                                              "", [("get_weather", {"city": "Paris"})]),
    "cut_inside_a_tag_is_content": ("<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<para",
                                    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<para", []),
}


@pytest.mark.parametrize("text,content,calls", CASES.values(), ids=CASES.keys())
def test_parse(text, content, calls):
    parsed = FMT.parse(text, tools=ALL)
    assert (parsed.content, call_pairs(parsed)) == (content, calls)


# A call announced while streaming (a parameter had opened) that is then cut off cannot be
# taken back; its text still arrives as content.
STREAMED = {key: text for key, (text, _, _) in CASES.items()
            if key not in ("truncated_call_is_content", "cut_inside_a_tag_is_content")}


@pytest.mark.parametrize("text", STREAMED.values(), ids=STREAMED.keys())
def test_streaming_matches_one_shot(text):
    assert_streaming_equivalent(FMT, text, ALL)


def test_streaming_cut_off_call_ends_as_content():
    text = CASES["truncated_call_is_content"][0]
    folded = stream(FMT, text, 1, ALL)
    assert folded.content == FMT.parse(text, tools=ALL).content == text
    assert [c.name for c in folded.calls] == ["get_weather"]


def test_string_values_stream_as_they_are_written():
    text = call("todo.addTodo", ("todo", "buy milk and eggs"))
    partial = FMT.parse(text[: text.index("eggs")], partial=True, tools=ALL)
    # trailing whitespace waits: it may be the newline before `</parameter>`
    assert partial.calls[0].arguments == '{"todo": "buy milk and'
    assert not partial.calls[0].complete
    folded = stream(FMT, text, 1, ALL)
    assert folded.calls[0].arguments == '{"todo": "buy milk and eggs"}'


def test_a_value_holding_a_closing_tag_is_held_until_decided():
    text = call("todo.addTodo", ("todo", "x\n</parameter>\nnot the end"))
    cut = text.index("not the end")
    assert FMT.parse(text[:cut], partial=True, tools=ALL).calls[0].arguments == '{"todo": "x'
    assert call_pairs(FMT.parse(text, tools=ALL)) == [("todo.addTodo", {"todo": "x\n</parameter>\nnot the end"})]


def test_without_tools_values_are_read_as_json_when_they_are():
    parsed = FMT.parse(call("anything", ("n", "3"), ("s", "Paris")))
    assert call_pairs(parsed) == [("anything", {"n": 3, "s": "Paris"})]


def test_thinking_first():
    text = "<think>\nI could write <tool_call> here.\n</think>\n\n" + call("get_weather", ("city", "Paris"))
    parsed = FMT.parse(text, tools=ALL)
    assert (parsed.reasoning, call_pairs(parsed)) == ("I could write <tool_call> here.", [("get_weather", {"city": "Paris"})])


def test_render_reply():
    message = assistant("Checking.", ("book", {"guests": [{"name": "Ann"}], "vip": False, "note": None}))
    assert FMT.render_reply(message, ALL) == "Checking.\n\n" + call(
        "book", ("guests", '[{"name": "Ann"}]'), ("vip", "false"), ("note", "null"))


@settings(max_examples=150, deadline=None)
@given(assistant_turns(content_with_calls=True, reasoning=thoughts("<tool_call>", "<parameter=")))
def test_round_trip(message):
    assert_round_trip(FMT, message, [WEATHER, *TOOLS[1:3], NESTED])
