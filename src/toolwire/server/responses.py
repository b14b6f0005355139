"""`POST /v1/responses`: OpenAI's Responses API over `model.chat`.

Request: `input` (a string, or `message` / `function_call` / `function_call_output` /
`reasoning` items), `instructions` (a system message), `tools` of type `function`,
`tool_choice`, `parallel_tool_calls`, `text.format`, `max_output_tokens`, the sampler
options, `stream`. Answer: a `response` object whose `output` holds a `reasoning` item
(when the model thought), a `message` item (its text) and one `function_call` item per
call; streamed, the Responses event sequence (`response.created`, `.in_progress`,
`.output_item.added`, `.content_part.added`, `.output_text.delta`, `.function_call_
arguments.delta`/`.done`, `.output_item.done`, ..., `response.completed`).

Stateless, except that with `store` (the default) the server keeps the conversation of
the last `ResponseStore.capacity` responses in memory so that `previous_response_id` can
continue one; a response that was evicted (or served before a restart) is a 404.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import OrderedDict
from typing import Any, Iterator, Literal, Union

from pydantic import Field, field_validator, model_validator
from starlette.exceptions import HTTPException

from toolwire.errors import RequestError
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.server.chunks import ChunkReader
from toolwire.server.protocol import PolicySettings, RequestBody, SamplerOptions, by_type, openai_error
from toolwire.server.sse import NamedEventFraming
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, ReasoningDelta

__all__ = ["ResponseStore", "Responses", "ResponsesFraming", "ResponsesRequest", "build_response"]

_TEXT_PARTS = ("input_text", "output_text")


# -- request ---------------------------------------------------------------------------------


class ContentPart(RequestBody):
    """A text part of a message (`input_text`, `output_text`, or a `refusal`)."""

    type: str = Field(json_schema_extra={"enum": [*_TEXT_PARTS, "refusal"]})
    text: str | None = None
    refusal: str | None = None

    @model_validator(mode="after")
    def _text_only(self) -> "ContentPart":
        if self.type == "refusal":
            return self
        if self.type not in _TEXT_PARTS:
            raise ValueError(f"{self.type!r} content is not supported: the model takes text only")
        if self.text is None:
            raise ValueError(f"an {self.type!r} part needs 'text'")
        return self

    def plain_text(self) -> str:
        return (self.refusal if self.type == "refusal" else self.text) or ""


Content = Union[str, list[ContentPart]]


def _text(content: Content) -> str:
    return content if isinstance(content, str) else "".join(part.plain_text() for part in content)


class MessageItem(RequestBody):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: Content


class FunctionCallItem(RequestBody):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str = Field(description="The call's arguments, a JSON object as text.")

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, value: str) -> str:
        try:
            decoded = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise ValueError("not valid JSON") from None
        if not isinstance(decoded, dict):
            raise ValueError("must be a JSON object")
        return value if value.strip() else "{}"


class FunctionCallOutputItem(RequestBody):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: Content


class ReasoningText(RequestBody):
    type: str = "reasoning_text"
    text: str


class ReasoningItem(RequestBody):
    """The model's earlier thinking; its text goes back as the turn's reasoning."""

    type: Literal["reasoning"]
    summary: list[ReasoningText] = Field(default_factory=list)
    content: list[ReasoningText] | None = None

    def plain_text(self) -> str:
        return "".join(part.text for part in self.content or self.summary)


class UnsupportedItem(RequestBody):
    type: str

    @model_validator(mode="after")
    def _refuse(self) -> "UnsupportedItem":
        raise ValueError(f"{self.type!r} items are not supported: toolwire takes message, function_call, "
                         "function_call_output and reasoning items")


InputItem = by_type(MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem, fallback=UnsupportedItem,
                    default="message")


class FunctionTool(RequestBody):
    """A function tool, `{"type": "function", "name", "description", "parameters", "strict"}`
    (the chat completions form, with the fields under `function`, is accepted too)."""

    type: str = Field(json_schema_extra={"enum": ["function"]})
    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_chat_form(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("function"), dict) and "name" not in value:
            return {"type": value.get("type"), **value["function"]}
        return value

    @field_validator("type")
    @classmethod
    def _function_only(cls, value: str) -> str:
        if value != "function":
            raise ValueError(f"{value!r} tools are not supported: toolwire serves tools of type 'function'")
        return value


class FunctionChoice(RequestBody):
    type: str = Field(json_schema_extra={"enum": ["function"]})
    name: str = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _function_only(cls, value: str) -> str:
        if value != "function":
            raise ValueError(f"tool_choice of type {value!r} is not supported: use 'none', 'auto', 'required' "
                             "or {'type': 'function', 'name': ...}")
        return value


class TextFormat(RequestBody):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> "TextFormat":
        if self.type == "json_schema" and self.schema_ is None:
            raise ValueError("type 'json_schema' needs a 'schema'")
        return self


class TextConfig(RequestBody):
    format: TextFormat | None = None


class Reasoning(RequestBody):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: str | None = None


class ResponsesRequest(SamplerOptions, PolicySettings):
    """`POST /v1/responses`."""

    model: str | None = None
    input: Union[str, list[InputItem]]
    instructions: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Union[Literal["none", "auto", "required"], FunctionChoice, None] = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool = False
    metadata: dict[str, str] | None = None
    user: str | None = None
    reasoning: Reasoning | None = None
    # Accepted and ignored: the model has no hosted tools or logprobs.
    include: list[str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    service_tier: str | None = None
    max_tool_calls: int | None = Field(default=None, ge=1)
    # Refused when given: there is no background queue, conversation store or prompt library.
    background: bool | None = None
    conversation: Any = None
    prompt: Any = None

    @model_validator(mode="after")
    def _supported(self) -> "ResponsesRequest":
        if self.background:
            raise ValueError("background responses are not supported")
        for name in ("conversation", "prompt"):
            if getattr(self, name) is not None:
                raise ValueError(f"'{name}' is not supported: send the conversation as 'input'")
        return self


# -- request -> model.chat ---------------------------------------------------------------------


def _chat_messages(items: list[Any]) -> list[dict[str, Any]]:
    """Input items as chat messages: a `function_call` joins the assistant turn before it,
    a `function_call_output` becomes a `tool` message naming its function."""
    messages: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    reasoning = ""
    for item in items:
        last = messages[-1] if messages else None
        if isinstance(item, ReasoningItem):
            reasoning += item.plain_text()
        elif isinstance(item, MessageItem):
            message: dict[str, Any] = {"role": item.role, "content": _text(item.content)}
            if item.role == "assistant" and reasoning:
                message["reasoning_content"], reasoning = reasoning, ""
            messages.append(message)
        elif isinstance(item, FunctionCallItem):
            names[item.call_id] = item.name
            call = {"id": item.call_id, "type": "function", "function": {"name": item.name, "arguments": item.arguments}}
            if last is None or last["role"] != "assistant":
                last = {"role": "assistant", "content": None}
                if reasoning:
                    last["reasoning_content"], reasoning = reasoning, ""
                messages.append(last)
            last.setdefault("tool_calls", []).append(call)
        elif isinstance(item, FunctionCallOutputItem):
            tool: dict[str, Any] = {"role": "tool", "tool_call_id": item.call_id, "content": _text(item.output)}
            if item.call_id in names:
                tool["name"] = names[item.call_id]
            messages.append(tool)
    return messages


def _conversation(body: ResponsesRequest) -> list[dict[str, Any]]:
    """The input as chat messages (without the instructions)."""
    if isinstance(body.input, str):
        return [{"role": "user", "content": body.input}]
    return _chat_messages(body.input)


def _response_format(text: TextConfig | None) -> dict[str, Any] | None:
    if text is None or text.format is None or text.format.type == "text":
        return None
    if text.format.type == "json_object":
        return {"type": "json_object"}
    spec = {"name": text.format.name, "schema": text.format.schema_, "strict": text.format.strict}
    return {"type": "json_schema", "json_schema": {key: value for key, value in spec.items() if value is not None}}


def _reasoning_options(reasoning: Reasoning | None) -> dict[str, Any]:
    """`reasoning.effort` for templates of reasoning models: `none` turns thinking off;
    the others map onto `low` / `medium` / `high`."""
    effort = reasoning.effort if reasoning else None
    if effort is None:
        return {}
    if effort == "none":
        return {"thinking": False}
    return {"reasoning_effort": {"minimal": "low", "xhigh": "high"}.get(effort, effort)}


# -- model.chat -> response --------------------------------------------------------------------


class _Ids:
    """Ids of a response and of its output items, all derived from the chat completion's
    id, so the streamed events and the final object name the same items."""

    def __init__(self, completion_id: str) -> None:
        self.base = completion_id.removeprefix("chatcmpl-")

    @property
    def response(self) -> str:
        return f"resp_{self.base}"

    @property
    def reasoning(self) -> str:
        return f"rs_{self.base}"

    @property
    def message(self) -> str:
        return f"msg_{self.base}"

    def call(self, index: int) -> str:
        return f"fc_{self.base}_{index}"


def _reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": text}],
            "status": status}


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [_output_text(text)]
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def _call_item(item_id: str, call: dict[str, Any], status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "call_id": call["id"], "name": call["function"]["name"],
            "arguments": call["function"]["arguments"], "status": status}


def _usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    if not usage:
        return None
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return {"input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": usage["completion_tokens"], "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}


def _skeleton(body: ResponsesRequest, ids: _Ids, created: int, model: str) -> dict[str, Any]:
    """The response object before any output: status `in_progress`."""
    text_format = body.text.format if body.text and body.text.format else TextFormat()
    shown = {"type": "text"} if text_format.type == "text" else text_format.model_dump(by_alias=True, exclude_none=True)
    choice = body.tool_choice
    return {
        "id": ids.response, "object": "response", "created_at": created, "status": "in_progress",
        "background": False, "error": None, "incomplete_details": None, "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens, "max_tool_calls": body.max_tool_calls, "model": model,
        "output": [], "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id,
        "reasoning": {"effort": body.reasoning.effort if body.reasoning else None, "summary": None},
        "store": body.store is not False, "temperature": body.temperature, "top_p": body.top_p,
        "text": {"format": shown},
        "tool_choice": (choice.model_dump() if isinstance(choice, FunctionChoice) else choice) or "auto",
        "tools": [tool.model_dump() for tool in body.tools or []],
        "truncation": body.truncation or "disabled", "usage": None, "user": body.user, "metadata": body.metadata or {},
    }


def build_response(completion: dict[str, Any], body: ResponsesRequest) -> dict[str, Any]:
    """The `response` object for a chat completion: reasoning, message and function call
    items; status `incomplete` when the output hit `max_output_tokens`."""
    ids = _Ids(completion["id"])
    choice = completion["choices"][0]
    message = choice["message"]
    output = []
    if message.get("reasoning_content"):
        output.append(_reasoning_item(ids.reasoning, message["reasoning_content"], "completed"))
    if message.get("content"):
        output.append(_message_item(ids.message, message["content"], "completed"))
    output += [_call_item(ids.call(index), call, "completed") for index, call in enumerate(message.get("tool_calls") or [])]
    response = _skeleton(body, ids, completion["created"], completion["model"])
    incomplete = choice["finish_reason"] == "length"
    response.update(status="incomplete" if incomplete else "completed", output=output, usage=_usage(completion.get("usage")),
                    incomplete_details={"reason": "max_output_tokens"} if incomplete else None)
    if not incomplete:
        response["completed_at"] = int(time.time())
    if completion.get("toolwire"):
        response["toolwire"] = completion["toolwire"]  # toolwire's notes (a relaxed schema, ...)
    return response


def _history(completion: dict[str, Any]) -> dict[str, Any]:
    """The assistant message a stored response adds to its conversation."""
    message = completion["choices"][0]["message"]
    return {key: value for key, value in message.items() if key in ("role", "content", "tool_calls", "reasoning_content")}


class ResponseStore:
    """The conversations of the last `capacity` stored responses, in memory (thread-safe):
    what `previous_response_id` continues. Least recently stored ones are dropped first."""

    capacity = 256

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity or ResponseStore.capacity
        self._conversations: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def save(self, response_id: str, conversation: list[dict[str, Any]]) -> None:
        with self._lock:
            self._conversations[response_id] = conversation
            while len(self._conversations) > self.capacity:
                self._conversations.popitem(last=False)

    def conversation(self, response_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            found = self._conversations.get(response_id)
        return list(found) if found is not None else None


# -- the wire request --------------------------------------------------------------------------


class ResponsesFraming(NamedEventFraming):
    """Responses events are named by their type; an error is an `error` event that
    continues the sequence numbers."""

    def __init__(self) -> None:
        self.sequence = -1

    def event(self, event: dict[str, Any]) -> bytes:
        self.sequence = event.get("sequence_number", self.sequence)
        return super().event(event)

    def error(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
        self.sequence += 1
        kind = openai_error(status, message)["error"]["type"]
        return super().event({"type": "error", "code": code or kind, "message": message, "param": param,
                              "sequence_number": self.sequence})


class Responses:
    """A Responses API request (`WireRequest`)."""

    def __init__(self, body: ResponsesRequest, store: ResponseStore) -> None:
        self.body = body
        self.store = store
        self.stream = body.stream
        self.conversation: list[dict[str, Any]] = []

    def chat_options(self) -> dict[str, Any]:
        body = self.body
        earlier: list[dict[str, Any]] = []
        if body.previous_response_id:
            found = self.store.conversation(body.previous_response_id)
            if found is None:
                raise HTTPException(404, f"previous_response_id: no stored response {body.previous_response_id!r} "
                                         f"(the server keeps the last {self.store.capacity}, in memory)")
            earlier = found
        self.conversation = earlier + _conversation(body)
        system = [{"role": "system", "content": body.instructions}] if body.instructions else []
        options: dict[str, Any] = {"messages": system + self.conversation, **body.given_sampling()}
        if body.tools is not None:
            options["tools"] = [{"type": "function", "function": tool.model_dump(exclude={"type"}, exclude_none=True)}
                                for tool in body.tools]
            for index, tool in enumerate(body.tools):
                normalize_parameters(tool.parameters, where=f"tools[{index}].parameters")
        if body.tool_choice is not None:
            choice = body.tool_choice
            options["tool_choice"] = {"type": "function", "function": {"name": choice.name}} \
                if isinstance(choice, FunctionChoice) else choice
        if body.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = body.parallel_tool_calls
        response_format = _response_format(body.text)
        if response_format and response_format["type"] == "json_schema":
            normalize_parameters(response_format["json_schema"]["schema"], where="text.format.schema")
        if response_format:
            options["response_format"] = response_format
        if body.max_output_tokens is not None:
            options["max_tokens"] = body.max_output_tokens
        options.update(_reasoning_options(body.reasoning), **body.policy_options())
        if body.stream:
            options["include_usage"] = True
        return options

    def _keep(self, completion: dict[str, Any]) -> None:
        if self.body.store is not False:
            self.store.save(_Ids(completion["id"]).response, self.conversation + [_history(completion)])

    def response(self, completion: dict[str, Any]) -> dict[str, Any]:
        self._keep(completion)
        return build_response(completion, self.body)

    def events(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        try:
            yield from _ResponseEvents(self.body).run(chunks, self._keep)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    def framing(self) -> ResponsesFraming:
        return ResponsesFraming()

    def request_error(self, error: RequestError) -> RequestError:
        """The chat layer names a tool's schema `tools[i].function.parameters`."""
        param = error.param
        if param and param.startswith("tools[") and param.endswith(".function.parameters"):
            where = param.removesuffix(".function.parameters") + ".parameters"
            return type(error)(error.message.replace(param, where), param=where, code=error.code)
        return error


class _ResponseEvents:
    """The Responses event sequence for one stream of chat chunks."""

    def __init__(self, body: ResponsesRequest) -> None:
        self.body = body
        self.sequence = 0
        self.output: list[dict[str, Any]] = []  # the items added so far, by output index
        self.open: dict[str, Any] | None = None  # the item receiving deltas
        self.texts: dict[int, str] = {}  # output index -> text so far

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def run(self, chunks: Iterator[dict[str, Any]], keep: Any) -> Iterator[dict[str, Any]]:
        reader = ChunkReader()
        pending = []
        for chunk in chunks:  # the first chunk names the completion, hence the response
            pending = reader.feed(chunk)
            break
        self.ids = _Ids(reader.id)
        skeleton = _skeleton(self.body, self.ids, reader.created, reader.model)
        yield self._event("response.created", response=skeleton)
        yield self._event("response.in_progress", response=skeleton)
        for events in itertools.chain([pending], (reader.feed(chunk) for chunk in chunks)):
            for event in events:
                yield from self._on(event, reader)
        yield from self._close()
        completion = reader.completion()
        keep(completion)
        final = build_response(completion, self.body)
        yield self._event("response.incomplete" if final["status"] == "incomplete" else "response.completed",
                          response=final)

    def _on(self, event: Any, reader: ChunkReader) -> Iterator[dict[str, Any]]:
        if isinstance(event, ReasoningDelta):
            yield from self._text_delta("reasoning", event.text)
        elif isinstance(event, ContentDelta):
            yield from self._text_delta("message", event.text)
        elif isinstance(event, CallStart):
            yield from self._close()
            call = reader.calls[event.index]
            yield from self._add(_call_item(self.ids.call(event.index), {**call, "function": {
                **call["function"], "arguments": ""}}, "in_progress"))
        elif isinstance(event, ArgumentsDelta):
            index = self._index_of(self.ids.call(event.index))
            self.texts[index] = self.texts.get(index, "") + event.text
            yield self._event("response.function_call_arguments.delta", item_id=self.ids.call(event.index),
                              output_index=index, delta=event.text)

    def _index_of(self, item_id: str) -> int:
        return next(index for index, item in enumerate(self.output) if item["id"] == item_id)

    def _add(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        self.output.append(item)
        self.open = item
        yield self._event("response.output_item.added", output_index=len(self.output) - 1, item=item)

    def _text_delta(self, kind: str, text: str) -> Iterator[dict[str, Any]]:
        if self.open is None or self.open["type"] != kind:
            yield from self._close()
            item_id = self.ids.reasoning if kind == "reasoning" else self.ids.message
            if any(item["id"] == item_id for item in self.output):  # text again after a call: a new item
                item_id += f"_{len(self.output)}"
            if kind == "reasoning":
                yield from self._add(_reasoning_item(item_id, "", "in_progress") | {"content": []})
                part = {"type": "reasoning_text", "text": ""}
            else:
                yield from self._add(_message_item(item_id, None, "in_progress"))
                part = _output_text("")
            yield self._event("response.content_part.added", item_id=item_id, output_index=len(self.output) - 1,
                              content_index=0, part=part)
        assert self.open is not None
        index = len(self.output) - 1
        self.texts[index] = self.texts.get(index, "") + text
        delta = "response.reasoning_text.delta" if kind == "reasoning" else "response.output_text.delta"
        extra = {} if kind == "reasoning" else {"logprobs": []}
        yield self._event(delta, item_id=self.open["id"], output_index=index, content_index=0, delta=text, **extra)

    def _close(self) -> Iterator[dict[str, Any]]:
        """The `.done` events of the open item."""
        item, self.open = self.open, None
        if item is None:
            return
        index = len(self.output) - 1
        text = self.texts.get(index, "")
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "reasoning":
            done = _reasoning_item(item["id"], text, "completed")
            yield self._event("response.reasoning_text.done", **where, content_index=0, text=text)
            yield self._event("response.content_part.done", **where, content_index=0, part=done["content"][0])
        elif item["type"] == "message":
            done = _message_item(item["id"], text, "completed")
            yield self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            yield self._event("response.content_part.done", **where, content_index=0, part=done["content"][0])
        else:
            done = {**item, "arguments": text, "status": "completed"}
            yield self._event("response.function_call_arguments.done", **where, name=item["name"], arguments=text)
        self.output[index] = done
        yield self._event("response.output_item.done", output_index=index, item=done)

