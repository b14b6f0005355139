"""toolwire.server.responses: the Responses API translated to `model.chat` and back.

Shapes are checked against the official `openai` SDK's own types, and the stream against
its own accumulator (`ResponseStreamState`, what `client.responses.stream` runs). The real
server is exercised in test_responses_server.py."""

from __future__ import annotations

from typing import Any

import pytest
from openai import omit
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException

from tests.server.chat_chunks import ANSWERS, chunks
from toolwire.errors import RequestError, SchemaError
from toolwire.server.protocol import validation_message
from toolwire.server.responses import Responses, ResponsesRequest, ResponseStore, build_response

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def wire(kept: ResponseStore | None = None, **body: Any) -> Responses:
    return Responses(ResponsesRequest.model_validate({"model": "m", **body}), kept or ResponseStore())


def error_of(**body: Any) -> str:
    """The field path and message a bad body is refused with (as the server words it)."""
    with pytest.raises(ValidationError) as caught:
        ResponsesRequest.model_validate({"model": "m", **body})
    return validation_message([{**error, "loc": ("body", *error["loc"])} for error in caught.value.errors()])[0]


# -- request -> model.chat ---------------------------------------------------------------------


def test_string_input_with_instructions_and_options() -> None:
    options = wire(input="Weather in Paris?", instructions="Be brief.", tools=[WEATHER], tool_choice="required",
                   parallel_tool_calls=False, max_output_tokens=50, temperature=0.5).chat_options()
    assert options == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}],
        "tool_choice": "required", "parallel_tool_calls": False, "max_tokens": 50, "temperature": 0.5}


def test_tools_in_the_chat_completions_form_are_accepted() -> None:
    nested = {"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}
    assert wire(input="x", tools=[nested]).chat_options()["tools"] == wire(input="x", tools=[WEATHER]).chat_options()["tools"]


def test_items_become_chat_messages() -> None:
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather in "}, {"type": "input_text", "text": "Paris?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"type": "reasoning_text", "text": "Call it."}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city": "Rome"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "18 C"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "21 C"}]},
    ]
    assert wire(input=items, tools=[WEATHER]).chat_options()["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Checking.", "reasoning_content": "Call it.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "18 C", "name": "get_weather"},
        {"role": "tool", "tool_call_id": "c2", "content": "21 C", "name": "get_weather"},
    ]


def test_a_call_without_a_message_opens_the_assistant_turn() -> None:
    items = [{"role": "user", "content": "Hi"},
             {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": ""}]
    assert wire(input=items).chat_options()["messages"][1] == {
        "role": "assistant", "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}


def test_named_tool_choice_and_json_schema_text_format() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    options = wire(input="x", tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"},
                   text={"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}}).chat_options()
    assert options["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert options["response_format"] == {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    assert wire(input="x", text={"format": {"type": "json_object"}}).chat_options()["response_format"] == {"type": "json_object"}
    assert "response_format" not in wire(input="x", text={"format": {"type": "text"}}).chat_options()


def test_reasoning_effort_and_policy_settings() -> None:
    assert wire(input="x", reasoning={"effort": "high"}).chat_options()["reasoning_effort"] == "high"
    assert wire(input="x", reasoning={"effort": "minimal"}).chat_options()["reasoning_effort"] == "low"
    assert wire(input="x", reasoning={"effort": "none"}).chat_options()["thinking"] is False
    assert wire(input="x", toolwire={"constrained": False}).chat_options()["policies"] == {"constrained": False}
    with pytest.raises(RequestError) as caught:
        wire(input="x", toolwire={"no_such_setting": 1}).chat_options()
    assert caught.value.param.startswith("toolwire")


def test_streaming_asks_for_usage() -> None:
    assert wire(input="x", stream=True).chat_options()["include_usage"] is True


@pytest.mark.parametrize(("body", "expected"), [
    ({"input": "x", "tools": [{"type": "web_search"}]},
     "tools[0].type: 'web_search' tools are not supported: toolwire serves tools of type 'function'"),
    ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name: Field required"),
    ({"input": [{"type": "computer_call_output", "call_id": "c"}]}, "input[0]: 'computer_call_output' items are not supported"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://x"}]}]},
     "input[0].content[0]: 'input_image' content is not supported: the model takes text only"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{city"}]},
     "input[0].arguments: not valid JSON"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]},
     "input[0].arguments: must be a JSON object"),
    ({"input": "x", "tool_choice": {"type": "allowed_tools", "name": "x"}}, "tool_choice.type: tool_choice of type 'allowed_tools'"),
    ({"input": "x", "background": True}, "background responses are not supported"),
    ({"input": "x", "max_output_tokens": 0}, "max_output_tokens: Input should be greater than or equal to 1"),
    ({}, "input: Field required"),
])
def test_bad_requests_name_the_field(body: dict[str, Any], expected: str) -> None:
    assert error_of(**body).startswith(expected)


def test_bad_schemas_name_the_field() -> None:
    with pytest.raises(SchemaError) as caught:
        wire(input="x", tools=[{**WEATHER, "parameters": {"type": "object", "properties": {"city": {"type": "nope"}}}}]).chat_options()
    assert caught.value.param == "tools[0].parameters"
    with pytest.raises(SchemaError) as caught:
        wire(input="x", text={"format": {"type": "json_schema", "name": "r", "schema": {"type": 3}}}).chat_options()
    assert caught.value.param == "text.format.schema" and caught.value.message.startswith("text.format.schema: ")


def test_chat_layer_field_names_are_translated() -> None:
    error = RequestError("tools[1].function.parameters: the schema of tool 'f' cannot be compiled",
                         param="tools[1].function.parameters")
    translated = wire(input="x").request_error(error)
    assert translated.param == "tools[1].parameters" and translated.message.startswith("tools[1].parameters: ")
    other = RequestError("tool_choice: no tool named 'x'", param="tool_choice")
    assert wire(input="x").request_error(other) is other


# -- previous_response_id ----------------------------------------------------------------------


def test_previous_response_continues_the_stored_conversation() -> None:
    store = ResponseStore()
    first = wire(store, input="Weather in Paris?", instructions="Be brief.", tools=[WEATHER])
    first.chat_options()
    response = first.response(ANSWERS["call"])
    follow_up = wire(store, previous_response_id=response["id"], instructions="Answer in French.", input=[
        {"type": "function_call_output", "call_id": "call_0", "output": "18 C"}])
    assert follow_up.chat_options()["messages"] == [
        {"role": "system", "content": "Answer in French."},  # instructions are not carried over
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": ANSWERS["call"]["choices"][0]["message"]["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_0", "content": "18 C"},
    ]


def test_unknown_or_evicted_previous_response_is_404() -> None:
    store = ResponseStore(capacity=1)
    for answer in ("text", "call"):
        request = wire(store, input="x")
        request.chat_options()
        request.response({**ANSWERS[answer], "id": f"chatcmpl-{answer}"})
    with pytest.raises(HTTPException) as caught:
        wire(store, input="x", previous_response_id="resp_text").chat_options()
    assert caught.value.status_code == 404 and "previous_response_id" in caught.value.detail
    assert wire(store, input="x", previous_response_id="resp_call").chat_options()["messages"][0]["content"] == "x"


def test_store_false_keeps_nothing() -> None:
    store = ResponseStore()
    request = wire(store, input="x", store=False)
    request.chat_options()
    assert store.conversation(request.response(ANSWERS["text"])["id"]) is None


# -- model.chat -> response --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_responses_are_valid_response_objects(name: str) -> None:
    body = ResponsesRequest.model_validate({"model": "m", "input": "x", "tools": [WEATHER]})
    response = build_response(ANSWERS[name], body)
    Response.model_validate(response)
    assert response["id"] == "resp_0123456789abcdef01234567" and response["model"] == "smollm2-135m"
    assert response["usage"] == {"input_tokens": 40, "input_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 0},
                                 "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 52}


def test_output_items() -> None:
    body = ResponsesRequest.model_validate({"model": "m", "input": "x"})
    output = build_response(ANSWERS["reasoning"], body)["output"]
    assert [item["type"] for item in output] == ["reasoning", "message", "function_call"]
    assert output[0]["content"] == [{"type": "reasoning_text", "text": "The user wants weather."}]
    assert output[1]["content"][0]["text"] == "Sunny." and output[1]["status"] == "completed"
    assert output[2] | {"id": ""} == {"id": "", "type": "function_call", "call_id": "call_0", "name": "get_weather",
                                      "arguments": '{"city": "Oslo"}', "status": "completed"}
    cut = build_response(ANSWERS["cut_off"], body)
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert build_response(ANSWERS["empty"], body)["output"] == []
    assert build_response(ANSWERS["notes"], body)["toolwire"] == ANSWERS["notes"]["toolwire"]


# -- the stream --------------------------------------------------------------------------------


def stream(name: str, **body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events of answer `name`, and the non-streamed response to compare with."""
    request = wire(input="x", stream=True, **body)
    events = list(request.events(iter(chunks(ANSWERS[name]))))
    return events, request.response(ANSWERS[name])


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_events_are_valid_and_rebuild_the_response(name: str) -> None:
    events, expected = stream(name)
    state = ResponseStreamState(input_tools=[WEATHER], text_format=omit)
    for event in events:
        state.handle_event(EVENTS.validate_python(event))
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[0]["response"]["status"] == "in_progress"
    final = events[-1]["response"]
    assert events[-1]["type"] == ("response.incomplete" if name == "cut_off" else "response.completed")
    assert final | {"completed_at": 0} == expected | {"completed_at": 0}
    done = [event["item"] for event in events if event["type"] == "response.output_item.done"]
    assert done == final["output"]


def test_event_sequence_of_text_then_calls() -> None:
    events, _ = stream("text_and_calls")
    assert [event["type"] for event in events if not event["type"].endswith(".delta")] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.done", "response.output_item.done",
        "response.completed"]
    deltas = [event for event in events if event["type"] == "response.function_call_arguments.delta"]
    assert {event["output_index"] for event in deltas} == {1, 2}
    assert "".join(event["delta"] for event in deltas if event["output_index"] == 2) == '{"zone": "Asia/Tokyo"}'


def test_reasoning_streams_as_a_reasoning_item() -> None:
    events, _ = stream("reasoning")
    reasoning = [event for event in events if event["type"].startswith("response.reasoning_text")]
    assert "".join(event["delta"] for event in reasoning if event["type"].endswith("delta")) == "The user wants weather."
    assert reasoning[-1]["type"] == "response.reasoning_text.done" and reasoning[-1]["output_index"] == 0


def test_streamed_responses_are_stored_too() -> None:
    store = ResponseStore()
    request = wire(store, input="Hi", stream=True)
    request.chat_options()
    events = list(request.events(iter(chunks(ANSWERS["text"]))))
    assert store.conversation(events[-1]["response"]["id"]) == [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there."}]


def test_closing_the_events_closes_the_chunks() -> None:
    closed = []

    def source() -> Any:
        try:
            yield from chunks(ANSWERS["text"])
        finally:
            closed.append(True)

    events = wire(input="x", stream=True).events(source())
    next(events)
    events.close()
    assert closed == [True]
