"""toolwire.server.messages: Anthropic's Messages API translated to `model.chat` and back.

Shapes are checked against the official `anthropic` SDK's own types; the real server and
the SDK's stream helper are exercised in test_messages_server.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter, ValidationError

from tests.server.chat_chunks import ANSWERS, chunks
from toolwire.errors import RequestError, SchemaError
from toolwire.server.messages import Messages, MessagesRequest, anthropic_error, build_message
from toolwire.server.protocol import validation_message

WEATHER = {"name": "get_weather", "description": "Weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
ASK = [{"role": "user", "content": "Weather in Paris?"}]
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


def wire(**body: Any) -> Messages:
    return Messages(MessagesRequest.model_validate({"model": "m", "max_tokens": 64, "messages": ASK, **body}))


def error_of(**body: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        MessagesRequest.model_validate(body)
    return validation_message([{**error, "loc": ("body", *error["loc"])} for error in caught.value.errors()])[0]


# -- request -> model.chat ---------------------------------------------------------------------


def test_system_tools_and_options() -> None:
    options = wire(system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use tools."}],
                   tools=[WEATHER], tool_choice={"type": "any"}, stop_sequences=["\n\n"], temperature=0.2,
                   top_k=5).chat_options()
    assert options == {
        "messages": [{"role": "system", "content": "Be brief.\n\nUse tools."}, *ASK], "max_tokens": 64,
        "temperature": 0.2, "top_k": 5, "tool_choice": "required", "stop": ["\n\n"],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                                    "parameters": WEATHER["input_schema"]}}]}


@pytest.mark.parametrize(("choice", "expected", "parallel"), [
    ({"type": "auto"}, "auto", None),
    ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
    ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
    ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}, None),
    ({"type": "none"}, "none", None),
])
def test_tool_choice(choice: dict[str, Any], expected: Any, parallel: bool | None) -> None:
    options = wire(tools=[WEATHER], tool_choice=choice).chat_options()
    assert options["tool_choice"] == expected
    assert options.get("parallel_tool_calls") == parallel


def test_tool_use_and_tool_result_blocks_become_chat_messages() -> None:
    messages = [
        *ASK,
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Look it up.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "no data"}], "is_error": True},
            {"type": "text", "text": "And tomorrow?"}]},
    ]
    assert wire(messages=messages, tools=[WEATHER]).chat_options()["messages"] == [
        *ASK,
        {"role": "assistant", "content": "Checking.", "reasoning_content": "Look it up.", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18 C", "name": "get_weather"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": '{"error": "no data"}', "name": "get_weather"},
        {"role": "user", "content": "And tomorrow?"},
    ]


def test_thinking_effort_and_policy_settings() -> None:
    thinking = wire(thinking={"type": "enabled", "budget_tokens": 2048}).chat_options()
    assert thinking["thinking"] is True and thinking["policies"] == {"thinking_budget": 2048}
    assert wire(thinking={"type": "disabled"}).chat_options()["thinking"] is False
    assert "thinking" not in wire(thinking={"type": "adaptive"}).chat_options()
    assert wire(output_config={"effort": "max"}).chat_options()["reasoning_effort"] == "high"
    assert wire(toolwire={"constrained": False}).chat_options()["policies"] == {"constrained": False}


def test_output_config_format_and_streaming_usage() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    options = wire(output_config={"format": {"type": "json_schema", "schema": schema}}, stream=True).chat_options()
    assert options["response_format"] == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    assert options["include_usage"] is True


@pytest.mark.parametrize(("body", "expected"), [
    ({"model": "m", "messages": ASK}, "max_tokens: Field required"),
    ({"model": "m", "max_tokens": 0, "messages": ASK}, "max_tokens: Input should be greater than or equal to 1"),
    ({"max_tokens": 8, "messages": ASK}, "model: Field required"),
    ({"model": "m", "max_tokens": 8, "messages": []}, "messages: List should have at least 1 item"),
    ({"model": "m", "max_tokens": 8, "messages": ASK, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
     "tools[0].type: 'web_search_20250305' tools are not supported"),
    ({"model": "m", "max_tokens": 8, "messages": ASK, "tools": [{"name": "f"}]}, "tools[0].input_schema: Field required"),
    ({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}]}]},
     "messages[0].content[0]: 'image' blocks are not supported: the model takes text only"),
    ({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f",
                                                                                "input": {}}]}]},
     "messages[0]: 'tool_use' blocks cannot appear in user messages"),
    ({"model": "m", "max_tokens": 8, "messages": [*ASK, {"role": "assistant", "content": "The weather is"}]},
     "messages: the last message must be a user message"),
    ({"model": "m", "max_tokens": 8, "messages": ASK, "tool_choice": {"type": "any"}},
     "tool_choice: 'any' needs at least one tool"),
    ({"model": "m", "max_tokens": 8, "messages": ASK, "tools": [WEATHER], "tool_choice": {"type": "some"}},
     "tool_choice: tool_choice of type 'some' is not supported"),
    ({"model": "m", "max_tokens": 8, "messages": ASK, "temperature": 1.5},
     "temperature: Input should be less than or equal to 1"),
])
def test_bad_requests_name_the_field(body: dict[str, Any], expected: str) -> None:
    assert error_of(**body).startswith(expected)


def test_bad_input_schema_names_the_field() -> None:
    bad = {**WEATHER, "input_schema": {"type": "object", "properties": {"city": {"type": "town"}}}}
    with pytest.raises(SchemaError) as caught:
        wire(tools=[WEATHER, bad]).chat_options()
    assert caught.value.param == "tools[1].input_schema" and caught.value.message.startswith("tools[1].input_schema: ")


def test_chat_layer_field_names_are_translated() -> None:
    error = RequestError("tools[0].function.parameters: cannot be compiled", param="tools[0].function.parameters")
    assert wire().request_error(error).param == "tools[0].input_schema"


def test_error_shape() -> None:
    assert anthropic_error(400, "messages: bad") == {
        "type": "error", "error": {"type": "invalid_request_error", "message": "messages: bad"}}
    assert anthropic_error(401, "key")["error"]["type"] == "authentication_error"
    assert anthropic_error(429, "busy")["error"]["type"] == "rate_limit_error"
    assert anthropic_error(500, "boom")["error"]["type"] == "api_error"


# -- model.chat -> message ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_messages_are_valid_message_objects(name: str) -> None:
    message = build_message(ANSWERS[name])
    Message.model_validate(message)
    assert message["id"] == "msg_0123456789abcdef01234567" and message["role"] == "assistant"
    assert message["usage"] == {"input_tokens": 10, "output_tokens": 12, "cache_read_input_tokens": 30,
                                "cache_creation_input_tokens": 0}


def test_content_blocks_and_stop_reasons() -> None:
    message = build_message(ANSWERS["reasoning"])
    assert message["content"] == [
        {"type": "thinking", "thinking": "The user wants weather.", "signature": ""},
        {"type": "text", "text": "Sunny."},
        {"type": "tool_use", "id": "call_0", "name": "get_weather", "input": {"city": "Oslo"}}]
    assert message["stop_reason"] == "tool_use"
    assert build_message(ANSWERS["cut_off"])["stop_reason"] == "max_tokens"
    assert build_message(ANSWERS["text"])["stop_reason"] == "end_turn"
    assert build_message(ANSWERS["no_arguments"])["content"][0]["input"] == {}
    assert build_message(ANSWERS["notes"])["toolwire"] == ANSWERS["notes"]["toolwire"]


# -- the stream --------------------------------------------------------------------------------


def fold(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The message the events add up to, accumulated as Anthropic's docs describe it."""
    message = dict(events[0]["message"], content=[])
    partial: dict[int, str] = {}
    for event in events[1:]:
        if event["type"] == "content_block_start":
            assert event["index"] == len(message["content"])
            message["content"].append(dict(event["content_block"]))
        elif event["type"] == "content_block_delta":
            block, delta = message["content"][event["index"]], event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            else:
                partial[event["index"]] = partial.get(event["index"], "") + delta["partial_json"]
        elif event["type"] == "content_block_stop" and event["index"] in partial:
            message["content"][event["index"]]["input"] = json.loads(partial[event["index"]])
        elif event["type"] == "message_delta":
            message.update(event["delta"])
            message["usage"] = {**message["usage"], **event["usage"]}
            if "toolwire" in event:
                message["toolwire"] = event["toolwire"]
    return message


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_events_are_valid_and_rebuild_the_message(name: str) -> None:
    events = list(wire(stream=True).events(iter(chunks(ANSWERS[name]))))
    for event in events:
        EVENTS.validate_python(event)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    starts = [event["index"] for event in events if event["type"] == "content_block_start"]
    stops = [event["index"] for event in events if event["type"] == "content_block_stop"]
    assert starts == stops == list(range(len(starts)))
    assert fold(events) == build_message(ANSWERS[name])


def test_event_sequence_of_a_call() -> None:
    events = list(wire(stream=True).events(iter(chunks(ANSWERS["call"]))))
    assert [event["type"] for event in events if event["type"] != "content_block_delta"] == [
        "message_start", "content_block_start", "content_block_stop", "message_delta", "message_stop"]
    assert events[1]["content_block"] == {"type": "tool_use", "id": "call_0", "name": "get_weather", "input": {}}
    assert {event["delta"]["type"] for event in events if event["type"] == "content_block_delta"} == {"input_json_delta"}
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
