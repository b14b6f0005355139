"""`/v1/messages` through the official `anthropic` client (`client.messages.create` and the
SDK's own stream helper, `client.messages.stream`) against a real server on SmolLM2."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import jsonschema
import pytest

from tests.server.serving import Server

pytestmark = pytest.mark.model

WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIME = {"name": "get_time", "description": "Current time in a timezone",
        "input_schema": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}
SCHEMAS = {tool["name"]: tool["input_schema"] for tool in (WEATHER, TIME)}
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


@pytest.fixture(scope="module")
def client(server: Server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)


def tool_uses(message: Any) -> list[Any]:
    """The message's tool_use blocks, each checked against its tool's schema."""
    uses = [block for block in message.content if block.type == "tool_use"]
    for use in uses:
        jsonschema.validate(use.input, SCHEMAS[use.name])
        assert use.id
    return uses


def without_ids(message: Any) -> dict[str, Any]:
    """The message but its ids, usage and toolwire's notes (which the SDK's stream
    accumulator does not carry; compared apart)."""
    data = message.model_dump(exclude_none=True, exclude={"id", "usage", "toolwire"})
    for block in data["content"]:
        block.pop("id", None)
    return data


def test_any_tool_then_a_text_answer_to_its_result(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="smollm2-135m", max_tokens=60, messages=ASK, tools=[WEATHER, TIME],
                                     tool_choice={"type": "any"})
    assert message.type == "message" and message.role == "assistant" and message.stop_reason == "tool_use"
    (use, *_) = tool_uses(message)
    assert message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0) > 0
    reply = client.messages.create(
        model="smollm2-135m", max_tokens=24, tools=[WEATHER, TIME], tool_choice={"type": "none"}, messages=[
            *ASK, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18 C and sunny"}]}])
    assert [block.type for block in reply.content] == ["text"] and reply.content[0].text.strip()
    assert reply.stop_reason in ("end_turn", "max_tokens")


def test_streamed_events_rebuild_the_non_streamed_message(client: anthropic.Anthropic) -> None:
    request: dict[str, Any] = {"model": "m", "max_tokens": 80, "tools": [WEATHER, TIME], "tool_choice": {"type": "any"},
                               "messages": [{"role": "user", "content": "Weather in Paris? And the time in Asia/Tokyo?"}]}
    plain = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "message_delta" in kinds
    (delta,) = [event for event in events if event.type == "message_delta"]
    assert getattr(delta, "toolwire", None) == getattr(plain, "toolwire", None)  # toolwire's notes, if any
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == len(final.content)
    tool_uses(final)
    assert final.stop_reason == "tool_use"
    assert without_ids(final) == without_ids(plain)
    assert final.usage.output_tokens == plain.usage.output_tokens


def test_streamed_text(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "Say hello."}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text and final.stop_reason in ("end_turn", "max_tokens")


def test_named_tool_without_parallel_calls(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="m", max_tokens=60, tools=[WEATHER, TIME],
        tool_choice={"type": "tool", "name": "get_time", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "What time is it in Europe/Paris and in Asia/Tokyo?"}])
    assert [use.name for use in tool_uses(message)] == ["get_time"]


def test_system_and_stop_sequences(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="m", max_tokens=40, system="You are a helpful assistant.",
                                     stop_sequences=["e"], messages=[{"role": "user", "content": "Tell me a story."}])
    assert "e" not in "".join(block.text for block in message.content if block.type == "text")


def test_count_tokens_counts_the_rendered_prompt(client: anthropic.Anthropic) -> None:
    plain = client.messages.count_tokens(model="m", messages=ASK).input_tokens
    with_tools = client.messages.count_tokens(model="m", messages=ASK, tools=[WEATHER, TIME]).input_tokens
    message = client.messages.create(model="m", max_tokens=1, messages=ASK)
    assert plain == message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0)
    assert with_tools > plain  # the tools are described in the prompt


# -- errors ------------------------------------------------------------------------------------


def post(server: Server, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.v1 + "/messages", json=body, timeout=60)


def assert_anthropic_error(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(field + ":"), body


def test_missing_max_tokens_is_400_in_anthropic_shape(server: Server) -> None:
    assert_anthropic_error(post(server, {"model": "m", "messages": ASK}), 400, "max_tokens")


def test_unknown_tool_type_and_bad_schema_are_400(server: Server, client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="m", max_tokens=8, messages=ASK,
                               tools=[{"type": "web_search_20250305", "name": "web_search"}])  # type: ignore[list-item]
    assert caught.value.body["error"]["message"].startswith("tools[0].type: 'web_search_20250305' tools")  # type: ignore[index]
    bad = {**WEATHER, "input_schema": {"type": "object", "properties": {"city": {"type": "town"}}}}
    assert_anthropic_error(post(server, {"model": "m", "max_tokens": 8, "messages": ASK, "tools": [bad]}), 400,
                           "tools[0].input_schema")


def test_unknown_named_tool_and_bad_json_are_400(server: Server) -> None:
    assert_anthropic_error(post(server, {"model": "m", "max_tokens": 8, "messages": ASK, "tools": [WEATHER],
                                         "tool_choice": {"type": "tool", "name": "nope"}}), 400, "tool_choice")
    broken = httpx.post(server.v1 + "/messages", content=b"{", headers={"content-type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and broken.json()["type"] == "error"
    missing = httpx.post(server.v1 + "/messages/nothing", json={}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
