"""`/v1/responses` through the official `openai` client (`client.responses.create` and the
SDK's own stream helper, `client.responses.stream`) against a real server on SmolLM2."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from tests.server.serving import Server

pytestmark = pytest.mark.model

WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIME = {"type": "function", "name": "get_time", "description": "Current time in a timezone",
        "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}
SCHEMAS = {tool["name"]: tool["parameters"] for tool in (WEATHER, TIME)}
ASK = "What's the weather in Paris?"


@pytest.fixture(scope="module")
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key="unused", max_retries=0, timeout=120)


def calls_of(response: Any) -> list[Any]:
    """The response's function calls, each checked against its tool's schema."""
    calls = [item for item in response.output if item.type == "function_call"]
    for call in calls:
        jsonschema.validate(json.loads(call.arguments), SCHEMAS[call.name])
        assert call.call_id and call.id and call.status == "completed"
    return calls


def without_ids(response: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.model_dump(exclude_none=True).items() if k not in ("id", "call_id", "parsed_arguments")}
            for item in response.output]


def test_required_call_then_a_text_answer_to_its_result(client: openai.OpenAI) -> None:
    response = client.responses.create(model="smollm2-135m", input=ASK, tools=[WEATHER, TIME],
                                       tool_choice="required", max_output_tokens=60)
    assert response.object == "response" and response.status == "completed"
    (call, *_) = calls_of(response)
    assert response.usage and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    follow_up = client.responses.create(
        model="smollm2-135m", tools=[WEATHER, TIME], tool_choice="none", max_output_tokens=24,
        input=[{"role": "user", "content": ASK}, *[item.model_dump(exclude_none=True) for item in response.output],
               {"type": "function_call_output", "call_id": call.call_id, "output": "18 C and sunny"}])
    assert follow_up.output_text.strip() and not calls_of(follow_up)
    assert [item.type for item in follow_up.output] == ["message"]


def test_previous_response_id_carries_the_conversation(client: openai.OpenAI) -> None:
    first = client.responses.create(model="m", input=ASK, tools=[WEATHER], tool_choice="required", max_output_tokens=60)
    (call,) = calls_of(first)
    second = client.responses.create(
        model="m", previous_response_id=first.id, tools=[WEATHER], tool_choice="none", max_output_tokens=24,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 C and sunny"}])
    assert second.previous_response_id == first.id and second.output_text.strip()
    assert second.usage and first.usage and second.usage.input_tokens > first.usage.input_tokens  # the history was sent
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="m", previous_response_id="resp_nothing", input="Hi", max_output_tokens=4)
    assert "previous_response_id" in caught.value.message


def test_streamed_events_rebuild_the_non_streamed_response(client: openai.OpenAI) -> None:
    request: dict[str, Any] = {"model": "m", "input": "Weather in Paris? And the time in Asia/Tokyo?",
                               "tools": [WEATHER, TIME], "tool_choice": "required", "max_output_tokens": 80}
    plain = client.responses.create(**request)
    with client.responses.stream(**request) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == len(final.output)
    assert "response.function_call_arguments.done" in kinds
    calls_of(final)
    assert without_ids(final) == without_ids(plain)


def test_streamed_text_cut_off_is_incomplete(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m", input="Write a long story about a dragon.", max_output_tokens=8) as stream:
        events = list(stream)
    final = events[-1]
    assert final.type == "response.incomplete"  # as OpenAI ends it; the SDK's get_final_response() wants .completed
    assert final.response.status == "incomplete" and final.response.incomplete_details.reason == "max_output_tokens"
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == final.response.output_text and final.response.output_text.strip()


def test_named_tool_and_single_call(client: openai.OpenAI) -> None:
    response = client.responses.create(model="m", input="What time is it in Europe/Paris and in Asia/Tokyo?",
                                       tools=[WEATHER, TIME], tool_choice={"type": "function", "name": "get_time"},
                                       parallel_tool_calls=False, max_output_tokens=60)
    calls = calls_of(response)
    assert [call.name for call in calls] == ["get_time"]
    assert response.parallel_tool_calls is False


def test_json_schema_text_format(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "sunny": {"type": "boolean"}},
              "required": ["city", "sunny"], "additionalProperties": False}
    response = client.responses.create(model="m", input="Describe Paris weather as JSON.", max_output_tokens=60,
                                       text={"format": {"type": "json_schema", "name": "weather", "schema": schema,
                                                        "strict": True}})
    jsonschema.validate(json.loads(response.output_text), schema)


def test_events_are_named_server_sent_events(server: Server) -> None:
    body = {"input": "Hi", "max_output_tokens": 4, "stream": True}
    with httpx.stream("POST", server.v1 + "/responses", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    names = [line.removeprefix("event: ") for line in lines[0::2]]
    data = [json.loads(line.removeprefix("data: ")) for line in lines[1::2]]
    assert [item["type"] for item in data] == names and names[-1] in ("response.completed", "response.incomplete")
    assert [item["sequence_number"] for item in data] == list(range(len(data)))


# -- errors ------------------------------------------------------------------------------------


def bad_request(client: openai.OpenAI, **request: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(**{"model": "m", "input": ASK, "max_output_tokens": 8, **request})
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error" and body["message"]
    return caught.value


def test_unknown_tool_type_is_400(client: openai.OpenAI) -> None:
    error = bad_request(client, tools=[{"type": "web_search"}])
    assert error.param == "tools[0].type" and "'web_search' tools are not supported" in error.message


def test_bad_schema_is_400_naming_the_field(client: openai.OpenAI) -> None:
    error = bad_request(client, tools=[{**WEATHER, "parameters": {"type": "object", "properties": {"city": {"type": 5}}}}])
    assert error.param == "tools[0].parameters"


def test_unknown_named_tool_and_bad_history_are_400(client: openai.OpenAI) -> None:
    assert bad_request(client, tools=[WEATHER], tool_choice={"type": "function", "name": "nope"}).param == "tool_choice"
    error = bad_request(client, input=[{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{x"}])
    assert error.param == "input[0].arguments"


def test_missing_input_and_bad_json_are_400(server: Server) -> None:
    response = httpx.post(server.v1 + "/responses", json={"model": "m"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["param"] == "input"
    broken = httpx.post(server.v1 + "/responses", content=b"{", headers={"content-type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and "error" in broken.json()
