"""Request and response bodies of the OpenAI API that the server speaks, as pydantic models.

Requests are validated here (types, ranges, `n == 1`); errors become 400s naming the field
(see `error_body` / `param_of`). Messages, tools and tool calls reuse `toolwire.types`.
Responses are documented here; the server passes through the dicts `model.chat` returns.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from toolwire.engine.sampling import SamplingParams

from toolwire.types import (
    FunctionCall,
    FunctionDefinition,
    Message,
    NamedToolChoice,
    Tool,
    ToolCall,
)

__all__ = [
    "ChatChoice",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChunkChoice",
    "Completion",
    "CompletionChoice",
    "CompletionRequest",
    "Delta",
    "ErrorBody",
    "ErrorResponse",
    "FunctionCallChoice",
    "JsonSchemaFormat",
    "ModelCard",
    "ModelList",
    "ResponseFormat",
    "ResponseMessage",
    "StreamOptions",
    "TokenizeRequest",
    "TokenizeResponse",
    "Usage",
    "error_body",
    "param_of",
]


class _Body(BaseModel):
    """Request bodies ignore unknown fields, as OpenAI-compatible servers commonly do."""

    model_config = ConfigDict(extra="ignore")


class StreamOptions(_Body):
    include_usage: bool = False


class JsonSchemaFormat(_Body):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ResponseFormat(_Body):
    """`{"type": "text"}`, `{"type": "json_object"}` or `{"type": "json_schema", "json_schema": {...}}`."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> "ResponseFormat":
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a 'json_schema' object")
        return self


class FunctionCallChoice(_Body):
    """The legacy `function_call: {"name": ...}`."""

    name: str = Field(min_length=1)


Stop = Union[str, list[str], None]


def _check_stop(value: Stop) -> Stop:
    if isinstance(value, list) and len(value) > 4:
        raise ValueError("at most 4 stop sequences")
    return value


def _optional(model: type[BaseModel], *, skip: tuple[str, ...]) -> dict[str, Any]:
    """`model`'s fields with their ranges, each optional (None when not given)."""
    return {name: (info.annotation | None, FieldInfo.merge_field_infos(info, default=None))  # type: ignore[operator]
            for name, info in model.model_fields.items() if name not in skip}


_SamplingFields = create_model("_SamplingFields", __base__=_Body, **_optional(SamplingParams, skip=("stop",)))


class _Sampling(_SamplingFields):  # type: ignore[misc,valid-type]
    """Sampling options shared by both endpoints: `SamplingParams`' fields with their
    ranges (OpenAI's, and llama.cpp-style extras that OpenAI clients send through
    `extra_body`), all optional, plus OpenAI's `stop` (a string or up to 4)."""

    stop: Stop = None
    n: int = Field(default=1, description="Only 1 is supported.")
    user: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: Stop) -> Stop:
        return _check_stop(value)

    @field_validator("n")
    @classmethod
    def _only_one(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only n=1 is supported")
        return value

    def stops(self) -> tuple[str, ...]:
        """`stop` as a tuple of non-empty strings."""
        if self.stop is None:
            return ()
        values = [self.stop] if isinstance(self.stop, str) else self.stop
        return tuple(value for value in values if value)

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def given_sampling(self) -> dict[str, Any]:
        """The sampling options this request set (others take the model's defaults)."""
        given = {name: getattr(self, name) for name in SamplingParams.model_fields
                 if name not in ("stop", "max_tokens") and getattr(self, name, None) is not None}
        if self.stops():
            given["stop"] = self.stops()
        return given


class ChatCompletionRequest(_Sampling):
    """`POST /v1/chat/completions`."""

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Union[Literal["none", "auto", "required"], NamedToolChoice, None] = None
    parallel_tool_calls: bool | None = None
    functions: list[FunctionDefinition] | None = None
    function_call: Union[Literal["none", "auto"], FunctionCallChoice, None] = None
    response_format: ResponseFormat | None = None
    max_completion_tokens: int | None = Field(default=None, ge=1)
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    chat_template_kwargs: dict[str, Any] | None = Field(
        default=None, description="Template switches, as vLLM takes them: `enable_thinking` (or `thinking`).")
    toolwire: dict[str, Any] | None = Field(
        default=None, description="toolwire's policy settings for this request (see the README); other servers ignore it.")
    # Accepted and ignored.
    store: bool | None = None
    metadata: dict[str, str] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("logprobs are not supported")
        return value

    @model_validator(mode="after")
    def _tools_or_functions(self) -> "ChatCompletionRequest":
        if self.functions is not None and self.tools is not None:
            raise ValueError("give either 'tools' or the legacy 'functions', not both")
        return self

    def is_legacy(self) -> bool:
        """Whether the request uses the legacy `functions` / `function_call` fields."""
        return self.functions is not None

    def token_limit(self) -> int | None:
        """`max_completion_tokens`, else `max_tokens`."""
        return self.max_completion_tokens or self.max_tokens

    def thinking(self) -> bool | None:
        """Thinking on or off, from `chat_template_kwargs` (None: the template's default)."""
        kwargs = self.chat_template_kwargs or {}
        for key in ("enable_thinking", "thinking"):
            if isinstance(kwargs.get(key), bool):
                return kwargs[key]
        return None


class CompletionRequest(_Sampling):
    """`POST /v1/completions`: a raw prompt, optionally under an llguidance Lark `grammar`."""

    model: str | None = None
    prompt: Union[str, list[str]] = Field(description="One non-empty prompt (a string, or a list of one).")
    grammar: str | None = Field(default=None, description="An llguidance (Lark) grammar the output must match.")
    max_tokens: int | None = Field(default=16, ge=1)
    echo: bool = False
    logprobs: int | None = None

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: Union[str, list[str]]) -> Union[str, list[str]]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("exactly one prompt is supported")
        if not (value if isinstance(value, str) else value[0]):
            raise ValueError("must not be empty")
        return value

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: int | None) -> int | None:
        if value:
            raise ValueError("logprobs are not supported")
        return value

    def text(self) -> str:
        """The prompt text."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


# -- responses -------------------------------------------------------------------------------


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None


FinishReason = Literal["stop", "length", "tool_calls", "function_call", "content_filter"]


class ChatChoice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: FinishReason | None
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    function_call: dict[str, Any] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: Literal["stop", "length"] | None
    logprobs: None = None


class Completion(BaseModel):
    id: str = Field(default_factory=lambda: "cmpl-" + uuid.uuid4().hex[:24])
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "toolwire"
    max_model_len: int | None = Field(default=None, description="The context size in tokens.")


class TokenizeRequest(_Body):
    """`POST /tokenize` (vLLM's and SGLang's shape): the model's tokens of `prompt`."""

    model: str | None = None
    prompt: str
    add_special_tokens: bool = True


class TokenizeResponse(BaseModel):
    tokens: list[int]
    count: int
    max_model_len: int


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_body(message: str, *, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


_ROLE_TAGS = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_UNION_TAGS = ("str", "list[", "dict[", "literal[", "int", "float", "bool", "none", "function-")


def param_of(loc: Sequence[Any]) -> str | None:
    """A pydantic error location as a field path: `("body", "messages", 2, "assistant",
    "tool_calls", 0, "function", "arguments")` -> `messages[2].tool_calls[0].function.arguments`.

    Drops the leading `body`, the role tag pydantic puts after a message's index, and the
    names of union members (`str`, `list[...]`, `NamedToolChoice`)."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    path = ""
    for position, part in enumerate(parts):
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _is_tag(part, parts[position - 2] if position >= 2 else None):
            path += f".{part}" if path else str(part)
    return path or None


def _is_tag(part: str, grandparent: Any) -> bool:
    """A role tag (right after `messages[i]`) or the name of a union member."""
    if grandparent == "messages" and part in _ROLE_TAGS:
        return True
    lowered = part.lower()
    return lowered.startswith(_UNION_TAGS) or part[:1].isupper()
