"""`POST /v1/messages`: Anthropic's Messages API over `model.chat`.

Request: `model`, `max_tokens` (required), `system`, `messages` with `text`, `tool_use`,
`tool_result` and `thinking` blocks, `tools` with `input_schema`, `tool_choice` (`auto`,
`any` -> required, `tool` -> named, `none`; `disable_parallel_tool_use` -> one call at
most), `stop_sequences`, `temperature` / `top_p` / `top_k`, `output_config.format`,
`thinking` and `output_config.effort` (for templates of reasoning models), `stream`.
Answer: a `message` with `thinking`, `text` and `tool_use` content blocks and
`stop_reason` `end_turn`, `max_tokens` or `tool_use`; streamed, Anthropic's events
(`message_start`, `content_block_start` / `_delta` (`text_delta`, `input_json_delta`,
`thinking_delta`) / `_stop`, `message_delta`, `message_stop`). Errors have Anthropic's
shape: `{"type": "error", "error": {"type": "invalid_request_error", "message": ...}}`.

`stop_reason` is never `stop_sequence`: the engine does not report which stop string
ended the text, so a stop sequence reads as `end_turn`.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Literal, Union

from pydantic import Field, field_validator, model_validator

from toolwire.errors import RequestError
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.server.chunks import ChunkReader
from toolwire.server.protocol import PolicySettings, RequestBody, SamplerOptions, by_type
from toolwire.server.sse import NamedEventFraming
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, ReasoningDelta

__all__ = ["CountTokensRequest", "Messages", "MessagesFraming", "MessagesRequest", "anthropic_error", "build_message"]

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                504: "timeout_error", 529: "overloaded_error"}


def anthropic_error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """Anthropic's error body for an HTTP status (the field is named in the message)."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# -- request ---------------------------------------------------------------------------------


class TextBlock(RequestBody):
    type: Literal["text"]
    text: str


class ToolUseBlock(RequestBody):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]


class UnsupportedBlock(RequestBody):
    type: str

    @model_validator(mode="after")
    def _refuse(self) -> "UnsupportedBlock":
        if self.type in ("image", "document", "search_result"):
            raise ValueError(f"{self.type!r} blocks are not supported: the model takes text only")
        raise ValueError(f"{self.type!r} blocks are not supported: toolwire takes text, tool_use, tool_result "
                         "and thinking blocks")


ResultBlock = by_type(TextBlock, fallback=UnsupportedBlock)


class ToolResultBlock(RequestBody):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: Union[str, list[ResultBlock], None] = None
    is_error: bool = False

    def text(self) -> str:
        """The result as a tool message's content (an error as `{"error": text}`)."""
        content = self.content
        text = content if isinstance(content, str) else "\n\n".join(block.text for block in content or [])
        return json.dumps({"error": text}, ensure_ascii=False) if self.is_error else text


class ThinkingBlock(RequestBody):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(RequestBody):
    """Encrypted thinking of another model: nothing the local model can read."""

    type: Literal["redacted_thinking"]
    data: str = ""


Block = by_type(TextBlock, ToolUseBlock, ToolResultBlock, ThinkingBlock, RedactedThinkingBlock, fallback=UnsupportedBlock)


class MessageParam(RequestBody):
    role: Literal["user", "assistant"]
    content: Union[str, list[Block]]

    @model_validator(mode="after")
    def _blocks_fit_the_role(self) -> "MessageParam":
        misplaced = ToolResultBlock if self.role == "assistant" else (ToolUseBlock, ThinkingBlock)
        for block in self.content if isinstance(self.content, list) else []:
            if isinstance(block, misplaced):
                raise ValueError(f"{block.type!r} blocks cannot appear in {self.role} messages")
        return self


class ToolParam(RequestBody):
    type: str | None = Field(default=None, json_schema_extra={"enum": ["custom"]})
    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    input_schema: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _client_tools_only(cls, value: str | None) -> str | None:
        if value not in (None, "custom"):
            raise ValueError(f"{value!r} tools are not supported: toolwire serves client tools (with an input_schema)")
        return value


class ToolChoiceAuto(RequestBody):
    type: Literal["auto"]
    disable_parallel_tool_use: bool = False


class ToolChoiceAny(RequestBody):
    type: Literal["any"]
    disable_parallel_tool_use: bool = False


class ToolChoiceTool(RequestBody):
    type: Literal["tool"]
    name: str = Field(min_length=1)
    disable_parallel_tool_use: bool = False


class ToolChoiceNone(RequestBody):
    type: Literal["none"]


class UnsupportedToolChoice(RequestBody):
    type: str

    @model_validator(mode="after")
    def _refuse(self) -> "UnsupportedToolChoice":
        raise ValueError(f"tool_choice of type {self.type!r} is not supported: use 'auto', 'any', 'tool' or 'none'")


ToolChoice = by_type(ToolChoiceAuto, ToolChoiceAny, ToolChoiceTool, ToolChoiceNone, fallback=UnsupportedToolChoice)


class OutputFormat(RequestBody):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(RequestBody):
    format: OutputFormat | None = None
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class ThinkingConfig(RequestBody):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(default=None, ge=0)


class MessagesRequest(SamplerOptions, PolicySettings):
    """`POST /v1/messages`."""

    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    system: Union[str, list[TextBlock], None] = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=1)
    output_config: OutputConfig | None = None
    thinking: ThinkingConfig | None = None
    # Accepted and ignored.
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "MessagesRequest":
        if self.messages[-1].role == "assistant":
            raise ValueError("messages: the last message must be a user message (prefilling the assistant's "
                             "reply is not supported)")
        if isinstance(self.tool_choice, (ToolChoiceAny, ToolChoiceTool)) and not self.tools:
            raise ValueError(f"tool_choice: {self.tool_choice.type!r} needs at least one tool")
        return self


class CountTokensRequest(MessagesRequest):
    """`POST /v1/messages/count_tokens`: a Messages request without `max_tokens`."""

    max_tokens: int | None = Field(default=None, ge=1)  # type: ignore[assignment]


# -- request -> model.chat ---------------------------------------------------------------------

_JOIN = "\n\n"


def _text(content: Union[str, list[Any]]) -> str:
    if isinstance(content, str):
        return content
    return _JOIN.join(block.text for block in content if isinstance(block, TextBlock))


def _chat_messages(body: MessagesRequest) -> list[dict[str, Any]]:
    """Anthropic messages as chat messages: an assistant turn's `tool_use` blocks become
    its `tool_calls`, `thinking` its `reasoning_content`; a user turn's `tool_result`
    blocks become `tool` messages (naming their function), then its text a user message."""
    chat: list[dict[str, Any]] = []
    system = _text(body.system) if body.system is not None else ""
    if system:
        chat.append({"role": "system", "content": system})
    names: dict[str, str] = {}
    for message in body.messages:
        blocks = message.content if isinstance(message.content, list) else [TextBlock(type="text", text=message.content)]
        if message.role == "assistant":
            turn: dict[str, Any] = {"role": "assistant", "content": _text(blocks) or None}
            thinking = "".join(block.thinking for block in blocks if isinstance(block, ThinkingBlock))
            if thinking:
                turn["reasoning_content"] = thinking
            calls = [block for block in blocks if isinstance(block, ToolUseBlock)]
            if calls:
                names.update((call.id, call.name) for call in calls)
                turn["tool_calls"] = [{"id": call.id, "type": "function", "function": {
                    "name": call.name, "arguments": json.dumps(call.input, ensure_ascii=False)}} for call in calls]
            chat.append(turn)
            continue
        for block in blocks:
            if isinstance(block, ToolResultBlock):
                result = {"role": "tool", "tool_call_id": block.tool_use_id, "content": block.text()}
                if block.tool_use_id in names:
                    result["name"] = names[block.tool_use_id]
                chat.append(result)
        text = _text(blocks)
        if text or not any(isinstance(block, ToolResultBlock) for block in blocks):
            chat.append({"role": "user", "content": text})
    return chat


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, ToolChoiceAny):
        return "required"
    if isinstance(choice, ToolChoiceTool):
        return {"type": "function", "function": {"name": choice.name}}
    return choice.type


# -- model.chat -> message ---------------------------------------------------------------------


def _message_id(completion_id: str) -> str:
    return "msg_" + completion_id.removeprefix("chatcmpl-")


def _stop_reason(finish_reason: str | None) -> str:
    return {"tool_calls": "tool_use", "length": "max_tokens"}.get(finish_reason or "", "end_turn")


def _usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    """Anthropic's counts: `input_tokens` excludes the prompt tokens read from the cache."""
    usage = usage or {"prompt_tokens": 0, "completion_tokens": 0}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return {"input_tokens": usage["prompt_tokens"] - cached, "output_tokens": usage["completion_tokens"],
            "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}


def _thinking_block(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": ""}


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _tool_use_block(call: dict[str, Any], arguments: str | None = None) -> dict[str, Any]:
    text = call["function"]["arguments"] if arguments is None else arguments
    return {"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
            "input": json.loads(text) if text.strip() else {}}


def _head(completion_id: str, model: str) -> dict[str, Any]:
    return {"id": _message_id(completion_id), "type": "message", "role": "assistant", "model": model}


def build_message(completion: dict[str, Any]) -> dict[str, Any]:
    """The `message` for a chat completion: thinking, text and tool_use blocks."""
    choice = completion["choices"][0]
    message = choice["message"]
    content = []
    if message.get("reasoning_content"):
        content.append(_thinking_block(message["reasoning_content"]))
    if message.get("content"):
        content.append(_text_block(message["content"]))
    content += [_tool_use_block(call) for call in message.get("tool_calls") or []]
    answer = {**_head(completion["id"], completion["model"]), "content": content,
              "stop_reason": _stop_reason(choice["finish_reason"]), "stop_sequence": None,
              "usage": _usage(completion.get("usage"))}
    if completion.get("toolwire"):
        answer["toolwire"] = completion["toolwire"]  # toolwire's notes (a relaxed schema, ...)
    return answer


class MessagesFraming(NamedEventFraming):
    """Anthropic events are named by their type; an error is an `error` event."""

    def error(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
        return self.event(anthropic_error(status, message))


class Messages:
    """An Anthropic Messages request (`WireRequest`)."""

    def __init__(self, body: MessagesRequest) -> None:
        self.body = body
        self.stream = body.stream

    def chat_options(self) -> dict[str, Any]:
        body = self.body
        options: dict[str, Any] = {"messages": _chat_messages(body), **body.given_sampling()}
        if body.max_tokens is not None:
            options["max_tokens"] = body.max_tokens
        if body.tools is not None:
            for index, tool in enumerate(body.tools):
                normalize_parameters(tool.input_schema, where=f"tools[{index}].input_schema")
            options["tools"] = [{"type": "function", "function": {
                key: value for key, value in (("name", tool.name), ("description", tool.description),
                                              ("parameters", tool.input_schema)) if value is not None}}
                for tool in body.tools]
        choice = body.tool_choice
        if choice is not None:
            options["tool_choice"] = _tool_choice(choice)
            if getattr(choice, "disable_parallel_tool_use", False):
                options["parallel_tool_calls"] = False
        if body.stop_sequences:
            options["stop"] = [stop for stop in body.stop_sequences if stop]
        if body.output_config and body.output_config.format:
            schema = body.output_config.format.schema_
            normalize_parameters(schema, where="output_config.format.schema")
            options["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
        options.update(body.policy_options())
        if body.thinking and body.thinking.type != "adaptive":
            options["thinking"] = body.thinking.type == "enabled"
            if body.thinking.budget_tokens is not None:  # the thinking block is closed after this many tokens
                options["policies"] = {"thinking_budget": body.thinking.budget_tokens, **options.get("policies", {})}
        if body.output_config and body.output_config.effort:
            effort = body.output_config.effort
            options["reasoning_effort"] = "high" if effort in ("xhigh", "max") else effort
        if body.stream:
            options["include_usage"] = True
        return options

    def response(self, completion: dict[str, Any]) -> dict[str, Any]:
        return build_message(completion)

    def events(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        try:
            yield from _message_events(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    def framing(self) -> MessagesFraming:
        return MessagesFraming()

    def request_error(self, error: RequestError) -> RequestError:
        """The chat layer names a tool's schema `tools[i].function.parameters`."""
        param = error.param
        if param and param.startswith("tools[") and param.endswith(".function.parameters"):
            where = param.removesuffix(".function.parameters") + ".input_schema"
            return type(error)(error.message.replace(param, where), param=where, code=error.code)
        return error


def _message_events(chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Anthropic's event sequence for one stream of chat chunks: a content block per
    thinking run, text run and tool call, in the order they appear."""
    reader = ChunkReader()
    started = False
    block: str | None = None  # the open block's kind: "thinking", "text" or "tool_use"
    index = -1
    for chunk in chunks:
        events = reader.feed(chunk)
        if not started:
            started = True
            yield {"type": "message_start", "message": {
                **_head(reader.id, reader.model), "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}}
        for event in events:
            if isinstance(event, (ReasoningDelta, ContentDelta)):
                kind = "thinking" if isinstance(event, ReasoningDelta) else "text"
                if block != kind:
                    if block is not None:
                        yield {"type": "content_block_stop", "index": index}
                    block, index = kind, index + 1
                    start = _thinking_block("") if kind == "thinking" else _text_block("")
                    yield {"type": "content_block_start", "index": index, "content_block": start}
                delta = {"type": "thinking_delta", "thinking": event.text} if kind == "thinking" \
                    else {"type": "text_delta", "text": event.text}
                yield {"type": "content_block_delta", "index": index, "delta": delta}
            elif isinstance(event, CallStart):
                if block is not None:
                    yield {"type": "content_block_stop", "index": index}
                block, index = "tool_use", index + 1
                yield {"type": "content_block_start", "index": index,
                       "content_block": _tool_use_block(reader.calls[event.index], arguments="")}
            elif isinstance(event, ArgumentsDelta):
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "input_json_delta", "partial_json": event.text}}
    if not started:
        yield {"type": "message_start", "message": {**_head(reader.id, reader.model), "content": [],
                                                    "stop_reason": None, "stop_sequence": None,
                                                    "usage": {"input_tokens": 0, "output_tokens": 0}}}
    if block is not None:
        yield {"type": "content_block_stop", "index": index}
    completion = reader.completion()
    delta = {"type": "message_delta", "delta": {"stop_reason": _stop_reason(reader.finish_reason), "stop_sequence": None},
             "usage": _usage(completion["usage"])}
    if reader.toolwire:
        delta["toolwire"] = reader.toolwire  # toolwire's notes, as the non-streamed message has them
    yield delta
    yield {"type": "message_stop"}
