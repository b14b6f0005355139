"""The request models and their translation into `model.chat` arguments (no model)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import toolwire.server
from toolwire.server.app import chat_options
from toolwire.server.protocol import ChatCompletionRequest, CompletionRequest, param_of

USER = [{"role": "user", "content": "hi"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def test_exported_names_exist() -> None:
    assert sorted(toolwire.server.__all__) == sorted(set(toolwire.server.__all__))
    for name in toolwire.server.__all__:
        assert hasattr(toolwire.server, name)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER, "n": 2}, "n"),
        ({"messages": USER, "temperature": 3}, "temperature"),
        ({"messages": USER, "top_p": 0}, "top_p"),
        ({"messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": USER, "stop": 5}, "stop"),
        ({"messages": USER, "logprobs": True}, "logprobs"),
        ({"messages": USER, "tool_choice": "sometimes"}, "tool_choice"),
        ({"messages": USER, "response_format": {"type": "json_schema"}}, "response_format"),
        ({"messages": USER, "tools": [WEATHER], "functions": [WEATHER["function"]]}, None),
        ({"messages": []}, "messages"),
        ({"messages": [{"content": "no role"}]}, "messages[0]"),
        ({"messages": [*USER, {"role": "assistant", "tool_calls": [
            {"id": "c", "function": {"name": "f", "arguments": "{bad"}}]}]},
         "messages[1].tool_calls[0].function.arguments"),
    ],
)
def test_invalid_requests_name_the_field(body: dict, param: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        ChatCompletionRequest.model_validate(body)
    assert param_of(("body", *caught.value.errors()[0]["loc"])) == param


def test_accepted_and_ignored_fields() -> None:
    body = ChatCompletionRequest.model_validate(
        {"messages": USER, "user": "u", "store": False, "metadata": {"k": "v"}, "logprobs": False, "unknown": 1})
    assert chat_options(body) == {"messages": USER}


def test_chat_options_pass_only_what_was_given() -> None:
    body = ChatCompletionRequest.model_validate({
        "messages": USER, "tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False, "temperature": 0.5, "max_tokens": 9, "max_completion_tokens": 7, "stop": "END",
        "seed": 3, "stream": True, "stream_options": {"include_usage": True},
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    })
    options = chat_options(body)
    assert options["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert options["tools"][0]["function"]["name"] == "get_weather"
    assert options["max_tokens"] == 7  # max_completion_tokens wins
    assert options["stop"] == ("END",)
    assert options["include_usage"] is True
    assert options["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert "top_p" not in options and "presence_penalty" not in options


def test_legacy_functions_pass_through() -> None:
    body = ChatCompletionRequest.model_validate(
        {"messages": USER, "functions": [WEATHER["function"]], "function_call": {"name": "get_weather"}})
    options = chat_options(body)
    assert options["functions"][0]["name"] == "get_weather"
    assert options["function_call"] == {"name": "get_weather"}
    assert "tools" not in options


def test_message_content_parts_and_arguments_objects_are_normalised() -> None:
    body = ChatCompletionRequest.model_validate({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"a": 1}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]})
    messages = chat_options(body)["messages"]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'


def test_completion_request() -> None:
    body = CompletionRequest.model_validate({"prompt": ["Once"], "stop": ["\n", ""]})
    assert body.text() == "Once" and body.stops() == ("\n",) and body.max_tokens == 16
    with pytest.raises(ValidationError):
        CompletionRequest.model_validate({"prompt": ["a", "b"]})


def test_temperature_passes_through_to_the_sampler() -> None:
    """The sampler itself treats a vanishing temperature as greedy (tests/engine/test_sampling.py)."""
    assert chat_options(ChatCompletionRequest.model_validate({"messages": USER, "temperature": 1e-300}))["temperature"] == 1e-300
    assert chat_options(ChatCompletionRequest.model_validate({"messages": USER, "temperature": 0.7}))["temperature"] == 0.7
