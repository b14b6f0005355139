"""`toolwire serve --upstream`: a real llama-server (built from the sources vendored in
llama-cpp-python's sdist) serving SmolLM2 generates; the gateway renders, constrains with
GBNF, parses and answers. The tool-call cases of `test_chat_completions.py` run through
it with the official `openai` client, every call valid against its tool's schema, and a
named `tool_choice` is honoured (llama-server alone downgrades it to `auto`)."""

from __future__ import annotations

import json
from typing import Iterator

import jsonschema
import openai
import pytest

import toolwire
from tests.server.llama_server import LlamaServer, start_llama_server
from tests.server.serving import Server, start_server, stop_server
from tests.server.test_chat_completions import (  # noqa: F401  (collected here against the gateway)
    TIME,
    WEATHER,
    test_auto_answers_with_text_or_calls,
    test_legacy_functions,
    test_named_tool,
    test_parallel_calls_have_unique_ids,
    test_required_call,
    test_single_call_when_parallel_calls_are_off,
    test_streamed_calls_rebuild_to_valid_calls,
    test_streamed_text_without_usage,
    test_tool_result_turn,
    test_too_long_prompt_is_400,
    test_unknown_named_tool_is_400,
)
from toolwire.constrain import closed_schema

pytestmark = pytest.mark.model

SCHEMAS = {tool["function"]["name"]: closed_schema(tool["function"]["parameters"]) for tool in (WEATHER, TIME)}


@pytest.fixture(scope="module")
def upstream() -> Iterator[LlamaServer]:
    running = start_llama_server("smollm2-135m", ctx=2048)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gateway(upstream: LlamaServer) -> Iterator[Server]:
    running = start_server("--upstream", upstream.url, "--upstream-kind", "llama.cpp")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def client(gateway: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=300)


def assert_schema_valid(calls: list[tuple[str, str]]) -> None:
    assert calls
    for name, arguments in calls:
        jsonschema.validate(json.loads(arguments), SCHEMAS[name])


QUESTIONS = ["What's the weather in Paris?", "What time is it in Asia/Tokyo?", "Weather in Rome and Oslo?",
             "Is it raining in Lisbon right now? Also the time in Europe/Lisbon."]


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("choice", ["required", "auto"])
def test_every_call_is_schema_valid(client: openai.OpenAI, question: str, choice: str) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": question}], tools=[WEATHER, TIME], tool_choice=choice,
        max_tokens=80)
    message = answer.choices[0].message
    if choice == "required" or message.tool_calls:
        assert answer.choices[0].finish_reason == "tool_calls"
        assert_schema_valid([(call.function.name, call.function.arguments) for call in message.tool_calls or []])


@pytest.mark.parametrize("named", ["get_time", "get_weather"])
def test_named_tool_choice_is_honoured(client: openai.OpenAI, named: str) -> None:
    """A question about the other tool still gets the named one."""
    question = "What's the weather in Paris?" if named == "get_time" else "What time is it in Europe/Paris?"
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": question}], tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": named}}, max_tokens=60)
    calls = answer.choices[0].message.tool_calls or []
    assert [call.function.name for call in calls] == [named]
    assert_schema_valid([(named, calls[0].function.arguments)])


def test_streamed_parallel_calls_are_schema_valid(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Weather in Paris? And the time in Asia/Tokyo?"}],
        tools=[WEATHER, TIME], tool_choice="required", max_tokens=80, stream=True)
    calls: dict[int, list[str]] = {}
    for chunk in stream:
        for part in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            entry = calls.setdefault(part.index, ["", ""])
            entry[0] += (part.function.name or "") if part.function else ""
            entry[1] += (part.function.arguments or "") if part.function else ""
    assert_schema_valid([(name, arguments) for name, arguments in calls.values()])


def test_models_and_health_through_the_gateway(client: openai.OpenAI, gateway: Server) -> None:
    import httpx

    names = [model.id for model in client.models.list().data]
    assert names == ["SmolLM2-135M-Instruct.Q4_1.gguf", "m", "smollm2-135m"]  # the upstream's name, then aliases
    assert httpx.get(gateway.base_url + "/health", timeout=5).json()["status"] == "ok"


def test_a_lark_grammar_is_a_400_not_a_crash(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="GBNF"):
        client.completions.create(model="m", prompt="x", max_tokens=4, extra_body={"grammar": 'start: "x"'})


def test_connect_in_python(upstream: LlamaServer) -> None:
    """`toolwire.connect` gives the same `chat()` as `toolwire.load()`."""
    model = toolwire.connect(upstream.url, kind="llama.cpp")
    try:
        assert model.format.name == "chatml-functions"  # chosen from the template /props reports
        answer = model.chat([{"role": "user", "content": "What's the weather in Paris?"}], tools=[WEATHER, TIME],
                            tool_choice="required", max_tokens=60)
        calls = answer["choices"][0]["message"]["tool_calls"]
        assert_schema_valid([(call["function"]["name"], call["function"]["arguments"]) for call in calls])
        chunks = list(model.chat([{"role": "user", "content": "Say hello."}], max_tokens=8, stream=True))
        assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    finally:
        model.engine.close()


@pytest.fixture(scope="module")
def replica() -> Iterator[Server]:
    """A toolwire server on SmolLM2, as a replica behind a gateway."""
    running = start_server()
    yield running
    stop_server(running)


def test_a_toolwire_replica_behind_a_gateway(replica: Server) -> None:
    """The toolwire dialect: Lark grammars with the replica's special tokens."""
    gateway = start_server("--upstream", replica.base_url, "--upstream-kind", "toolwire", "--format", "chatml-functions")
    try:
        client = openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0, timeout=300)
        answer = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "What time is it in Europe/Paris?"}], tools=[WEATHER, TIME],
            tool_choice={"type": "function", "function": {"name": "get_time"}}, max_tokens=60)
        calls = answer.choices[0].message.tool_calls or []
        assert [call.function.name for call in calls] == ["get_time"]
        assert_schema_valid([("get_time", calls[0].function.arguments)])
        assert answer.usage and answer.usage.prompt_tokens > 0
    finally:
        stop_server(gateway)
