"""`/v1/chat/completions` through the official `openai` client against a real server
running SmolLM2 (sync and async, streamed and not)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest

from tests.server.serving import Server

pytestmark = pytest.mark.model

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Current time in a timezone",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}}
ASK_WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]


@pytest.fixture(scope="module")
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key="unused", max_retries=0, timeout=120)


@pytest.fixture
def async_client(server: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.v1, api_key="unused", max_retries=0, timeout=120)


def assert_calls(message: openai.types.chat.ChatCompletionMessage, names: set[str]) -> None:
    assert message.tool_calls, message
    assert message.content is None
    ids = [call.id for call in message.tool_calls]
    assert len(set(ids)) == len(ids)
    for call in message.tool_calls:
        assert call.function.name in names
        assert isinstance(json.loads(call.function.arguments), dict)


def test_required_call(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="smollm2-135m", messages=ASK_WEATHER, tools=[WEATHER, TIME], tool_choice="required", max_tokens=60)
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert_calls(choice.message, {"get_weather", "get_time"})
    assert answer.usage and answer.usage.prompt_tokens > 0
    assert answer.object == "chat.completion" and answer.id


def test_named_tool(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "What time is it in Europe/Paris?"}], tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}}, max_tokens=60)
    assert answer.choices[0].finish_reason == "tool_calls"
    assert_calls(answer.choices[0].message, {"get_time"})
    assert "timezone" in json.loads(answer.choices[0].message.tool_calls[0].function.arguments)


def test_auto_answers_with_text_or_calls(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Tell me a joke."}], tools=[WEATHER], max_tokens=20)
    choice = answer.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
    else:
        assert choice.finish_reason in ("stop", "length") and choice.message.content


def test_parallel_calls_have_unique_ids(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Weather in Paris? And the time in Asia/Tokyo?"}],
        tools=[WEATHER, TIME], tool_choice="required", parallel_tool_calls=True, max_tokens=80)
    assert answer.choices[0].finish_reason == "tool_calls"
    assert_calls(answer.choices[0].message, {"get_weather", "get_time"})


def test_single_call_when_parallel_calls_are_off(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Weather in Paris and in Rome?"}],
        tools=[WEATHER], tool_choice="required", parallel_tool_calls=False, max_tokens=80)
    assert len(answer.choices[0].message.tool_calls or []) == 1


def test_tool_result_turn(client: openai.OpenAI) -> None:
    messages = [*ASK_WEATHER,
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"}]
    answer = client.chat.completions.create(model="m", messages=messages, tools=[WEATHER], tool_choice="none", max_tokens=20)
    assert answer.choices[0].message.content and not answer.choices[0].message.tool_calls


def test_legacy_functions(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=ASK_WEATHER, functions=[WEATHER["function"]], function_call={"name": "get_weather"},
        max_tokens=60)
    choice = answer.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.tool_calls is None
    assert choice.message.function_call and choice.message.function_call.name == "get_weather"
    assert "city" in json.loads(choice.message.function_call.arguments)


def test_streamed_calls_rebuild_to_valid_calls(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=ASK_WEATHER, tools=[WEATHER], tool_choice="required", max_tokens=60, stream=True,
        stream_options={"include_usage": True})
    calls: dict[int, dict[str, str]] = {}
    finish, usage = None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
            assert chunk.choices == []
            continue
        delta = chunk.choices[0].delta
        for part in delta.tool_calls or []:
            if part.index not in calls:  # a new call announces its id and name, once
                assert part.id and part.function and part.function.name
                calls[part.index] = {"id": part.id, "name": part.function.name, "arguments": ""}
            else:
                assert part.id is None
            calls[part.index]["arguments"] += (part.function.arguments or "") if part.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert sorted(calls) == list(range(len(calls))) and calls
    assert json.loads(calls[0]["arguments"]).get("city")
    assert usage is not None and usage.completion_tokens >= 0 and usage.prompt_tokens > 0


def test_streamed_text_without_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, stream=True))
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks).strip()


def test_stream_is_server_sent_events(server: Server) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stream": True}
    with httpx.stream("POST", server.v1 + "/chat/completions", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"


async def test_async_client_streamed_and_not(async_client: openai.AsyncOpenAI) -> None:
    async def streamed() -> str:
        stream = await async_client.chat.completions.create(
            model="m", messages=ASK_WEATHER, tools=[WEATHER], tool_choice="required", max_tokens=60, stream=True)
        reasons = [chunk.choices[0].finish_reason async for chunk in stream if chunk.choices]
        return [reason for reason in reasons if reason][0]

    plain = async_client.chat.completions.create(model="m", messages=ASK_WEATHER, max_tokens=8)
    reason, answer = await asyncio.gather(streamed(), plain)  # the second one queues behind the first
    assert reason == "tool_calls"
    assert answer.choices[0].finish_reason in ("stop", "length")


# -- errors ----------------------------------------------------------------------------------


def bad_request(client: openai.OpenAI, **request: object) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="m", **{"messages": ASK_WEATHER, "max_tokens": 8, **request})
    error = caught.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error" and error["message"]
    return caught.value


def test_unknown_named_tool_is_400(client: openai.OpenAI) -> None:
    error = bad_request(client, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert error.param == "tool_choice"


def test_n_other_than_one_is_400(client: openai.OpenAI) -> None:
    assert bad_request(client, n=2).param == "n"


def test_bad_arguments_in_history_is_400_naming_the_field(client: openai.OpenAI) -> None:
    messages = [*ASK_WEATHER, {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{city: Paris"}}]}]
    error = bad_request(client, messages=messages, tools=[WEATHER])
    assert error.param == "messages[1].tool_calls[0].function.arguments"


def test_too_long_prompt_is_400(client: openai.OpenAI) -> None:
    error = bad_request(client, messages=[{"role": "user", "content": "word " * 3000}])
    assert error.code == "context_length_exceeded" and error.param == "messages"


def test_too_long_prompt_is_400_when_streaming(client: openai.OpenAI) -> None:
    bad_request(client, messages=[{"role": "user", "content": "word " * 3000}], stream=True)


def test_invalid_json_body_and_unknown_route(server: Server) -> None:
    response = httpx.post(server.v1 + "/chat/completions", content=b"{not json", timeout=10,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.get(server.v1 + "/nothing", timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()


# -- models, health, cancellation ------------------------------------------------------------


def test_models(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["smollm2-135m", "m"]  # the served name, then aliases


def test_health_answers_during_generation_and_disconnect_frees_the_engine(server: Server) -> None:
    body = {"messages": [{"role": "user", "content": "Write a long story about a dragon."}],
            "max_tokens": 1000, "stream": True}
    received = 0
    with httpx.stream("POST", server.v1 + "/chat/completions", json=body, timeout=60) as response:
        for line in response.iter_lines():
            received += bool(line)
            if received == 3:
                started = time.perf_counter()
                health = httpx.get(server.base_url + "/health", timeout=5)
                health_seconds = time.perf_counter() - started
                break
    assert health.status_code == 200 and health.json()["running"] is True
    assert health_seconds < 1.0
    deadline = time.monotonic() + 3  # the generation stops within a token or two of the disconnect
    while httpx.get(server.base_url + "/health", timeout=5).json()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(server.base_url + "/health", timeout=5).json()["running"] is False


# -- raw completions -------------------------------------------------------------------------


def test_completion_under_a_grammar(client: openai.OpenAI) -> None:
    answer = client.completions.create(
        model="m", prompt="Is the sky blue? Answer:", max_tokens=8, extra_body={"grammar": 'start: " yes" | " no"'})
    assert answer.choices[0].text in (" yes", " no")
    assert answer.choices[0].finish_reason == "stop"


def test_completion_streamed(client: openai.OpenAI) -> None:
    chunks = list(client.completions.create(model="m", prompt="The capital of France is", max_tokens=5, stream=True,
                                            stop=["\n"]))
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert "".join(chunk.choices[0].text for chunk in chunks)


def test_completion_with_a_bad_grammar_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="m", prompt="x", max_tokens=4, extra_body={"grammar": "start: ((("})


def test_policies_travel_in_the_toolwire_object(client: openai.OpenAI) -> None:
    sloppy = {"type": "function", "function": {"name": "pick", "parameters": {
        "type": "object", "properties": {"size": {"type": "integer", "enum": ["S", "M"]}}, "required": ["size"]}}}
    answer = client.chat.completions.create(
        model="smollm2-135m", messages=ASK_WEATHER, tools=[sloppy], tool_choice="required", max_tokens=30,
        extra_body={"toolwire": {"parallel_calls": "model"}})
    notes = answer.model_extra["toolwire"]["notes"]
    assert notes[0]["policy"] == "schemas" and "dropped type 'integer'" in notes[0]["detail"]
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="smollm2-135m", messages=ASK_WEATHER, tools=[sloppy], max_tokens=10,
                                       extra_body={"toolwire": {"schemas": "strict"}})
    assert refused.value.body["param"] == "tools[0].function.parameters"
    with pytest.raises(openai.BadRequestError) as typo:
        client.chat.completions.create(model="smollm2-135m", messages=ASK_WEATHER, tools=[WEATHER], max_tokens=10,
                                       extra_body={"toolwire": {"parallel_calls": "free"}})
    assert typo.value.body["param"] == "toolwire.parallel_calls"
