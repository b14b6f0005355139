"""`POST /v1/chat/completions`: OpenAI chat completions, the shape `model.chat` speaks
itself, so the translation is the identity (request fields -> keyword arguments)."""

from __future__ import annotations

from typing import Any, Iterator

from toolwire.errors import RequestError
from toolwire.server.protocol import ChatCompletionRequest
from toolwire.server.sse import ChatFraming, SseFraming
from toolwire.types import ToolMessage

__all__ = ["ChatCompletions", "chat_options", "plain"]


def plain(value: Any) -> Any:
    """Pydantic models (and lists of them) as the plain data `model.chat` takes."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value.model_dump(exclude_none=True, by_alias=True) if hasattr(value, "model_dump") else value


def chat_options(body: ChatCompletionRequest) -> dict[str, Any]:
    """The keyword arguments of `model.chat` for a request (without `stream`): the fields
    given, as plain data; sampling options left out take the model's defaults."""
    _answers_name_their_calls(body)
    options: dict[str, Any] = {"messages": [m.model_dump(exclude_none=True) for m in body.messages]}
    for key in ("tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "response_format"):
        value = getattr(body, key)
        if value is not None:
            options[key] = plain(value)
    options.update(body.given_sampling())
    if body.token_limit() is not None:
        options["max_tokens"] = body.token_limit()
    options.update(body.policy_options())
    if body.reasoning_effort is not None:
        options["reasoning_effort"] = body.reasoning_effort
    if body.thinking() is not None:
        options["thinking"] = body.thinking()
    if body.stream:
        options["include_usage"] = body.include_usage()
    return options


def _answers_name_their_calls(body: ChatCompletionRequest) -> None:
    """OpenAI's contract: a `tool` message says which call it answers (`tool_call_id`)."""
    for index, message in enumerate(body.messages):
        if isinstance(message, ToolMessage) and not message.tool_call_id:
            where = f"messages[{index}].tool_call_id"
            raise RequestError(f"{where}: a 'tool' message must name the call it answers", param=where)


class ChatCompletions:
    """A chat completions request (`WireRequest`): answers pass through as `model.chat`
    wrote them."""

    def __init__(self, body: ChatCompletionRequest) -> None:
        self.body = body
        self.stream = body.stream

    def chat_options(self) -> dict[str, Any]:
        return chat_options(self.body)

    def response(self, completion: dict[str, Any]) -> dict[str, Any]:
        return completion

    def events(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return chunks

    def framing(self) -> SseFraming:
        return ChatFraming()

    def request_error(self, error: RequestError) -> RequestError:
        return error
