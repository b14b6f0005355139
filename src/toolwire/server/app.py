"""The OpenAI-compatible HTTP server: `create_app(model)` -> a FastAPI app.

The server knows the OpenAI API, not wire formats: it validates requests
(`protocol.py`), admits them (`_admission.py`), hands chat requests to `model.chat` and raw
prompts to `model.engine.generate`, in a worker thread, and writes the answers as JSON or
server-sent events. Errors are 400s (401, 404, 429) in OpenAI's error shape; with a
remote engine, an upstream's refusal keeps its 4xx and message, and an upstream that fails
or cannot be reached is a 502 (504 when it times out).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, AsyncIterator, Callable, Iterator, Protocol

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolwire.chat.policies import parse_policies
from toolwire.constrain import LarkConstraint
from toolwire.engine.base import ConstraintUnsupported
from toolwire.engine.sampling import SamplingParams, sampling_params
from toolwire.errors import RequestError, UpstreamError
from toolwire.server._admission import BearerAuth, Gate, QueueFull
from toolwire.server.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    ErrorResponse,
    ModelCard,
    ModelList,
    TokenizeRequest,
    TokenizeResponse,
    error_body,
    param_of,
)

__all__ = ["ChatModel", "create_app"]


class ChatModel(Protocol):
    """What the server needs of a model (`toolwire.chat`): a name, `chat` and its engine."""

    name: str
    engine: Any

    def chat(self, messages: Any, **options: Any) -> Any:
        """A chat completion dict, or with `stream=True` an iterator of chunk dicts."""


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid request"},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    429: {"model": ErrorResponse, "description": "Queue full; see Retry-After"},
}
_END = object()
logger = logging.getLogger("toolwire.server")


def create_app(model: ChatModel, *, api_key: str | None = None, max_queue: int = 8, concurrency: int = 1) -> FastAPI:
    """The server for `model`. With `api_key`, every route but `/health` needs
    `Authorization: Bearer <api_key>`; `concurrency` generations run at once (more than one
    only for an engine that batches, such as a remote one); more than `max_queue` waiting
    requests get 429."""
    app = FastAPI(title="toolwire", version="0.1.0", description="OpenAI-compatible function calling for local GGUF models.")
    gate = Gate(max_queue, concurrency)
    app.state.gate = gate
    app.state.model = model
    name = getattr(model, "name", "toolwire")
    _install_error_handlers(app)
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: answers while a generation runs."""
        return {"status": "ok", "model": name, "running": gate.running, "waiting": gate.waiting}

    @app.get("/v1/models", response_model=ModelList, responses=_ERRORS)
    async def models() -> ModelList:
        return ModelList(data=[ModelCard(id=name, max_model_len=getattr(model.engine, "n_ctx", None))])

    @app.post("/tokenize", response_model=TokenizeResponse, responses=_ERRORS)
    async def tokenize(body: TokenizeRequest) -> TokenizeResponse:
        """The model's tokens of a text, special-token texts parsed as tokens (the shape of
        vLLM's and SGLang's `/tokenize`, so that a gateway can put toolwire upstream)."""
        tokens = await anyio.to_thread.run_sync(
            lambda: model.engine.tokenize(body.prompt, add_special=body.add_special_tokens))
        return TokenizeResponse(tokens=tokens, count=len(tokens), max_model_len=model.engine.n_ctx)

    @app.post("/v1/chat/completions", response_model=ChatCompletion, responses=_ERRORS)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        """Chat completions with tools; `stream: true` answers with server-sent events."""
        options = chat_options(body)
        await gate.acquire()
        if body.stream:
            stream = await _open_stream(gate, lambda: iter(model.chat(stream=True, **options)))
            return _sse(stream, _chat_chunks(stream), request, gate)
        try:
            result = await anyio.to_thread.run_sync(lambda: model.chat(stream=False, **options))
        finally:
            gate.release()
        return JSONResponse(result)  # passed through as the model wrote it, not re-validated

    @app.post("/v1/completions", response_model=Completion, responses=_ERRORS)
    async def completions(body: CompletionRequest, request: Request) -> Any:
        """Raw-prompt completions, optionally under an llguidance Lark `grammar`."""
        sampling = _sampling(body)
        await gate.acquire()
        holder: dict[str, Any] = {}

        def start() -> Iterator[Any]:
            holder["generation"] = model.engine.generate(
                body.text(), sampling=sampling, constraint=LarkConstraint(body.grammar) if body.grammar else None)
            return iter(holder["generation"])

        stream = await _open_stream(gate, start)
        if body.stream:
            return _sse(stream, _completion_chunks(stream, holder, name, body.include_usage()), request, gate)
        try:
            text = "".join(chunk.text for chunk in await anyio.to_thread.run_sync(lambda: list(stream.rest())))
        finally:
            gate.release()
        generation = holder["generation"]
        usage = generation.usage
        return Completion(model=name, choices=[{"text": text, "finish_reason": _finish(generation.finish_reason)}],
                          usage={"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                                 "total_tokens": usage.prompt_tokens + usage.completion_tokens})

    return app


# -- requests -> model calls -----------------------------------------------------------------


def chat_options(body: ChatCompletionRequest) -> dict[str, Any]:
    """The keyword arguments of `model.chat` for a request (without `stream`): the fields
    given, as plain data; sampling options left out take the model's defaults."""
    options: dict[str, Any] = {"messages": [m.model_dump(exclude_none=True) for m in body.messages]}
    for key in ("tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "response_format"):
        value = getattr(body, key)
        if value is not None:
            options[key] = _plain(value)
    options.update(body.given_sampling())
    if body.token_limit() is not None:
        options["max_tokens"] = body.token_limit()
    if body.toolwire is not None:
        parse_policies(body.toolwire, field="toolwire")  # a bad setting is a 400 naming toolwire.<setting>
        options["policies"] = body.toolwire  # over the model's (server-wide) defaults
    if body.reasoning_effort is not None:
        options["reasoning_effort"] = body.reasoning_effort
    if body.thinking() is not None:
        options["thinking"] = body.thinking()
    if body.stream:
        options["include_usage"] = body.include_usage()
    return options


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.model_dump(exclude_none=True, by_alias=True) if hasattr(value, "model_dump") else value


def _sampling(body: CompletionRequest) -> SamplingParams:
    return sampling_params(max_tokens=body.max_tokens, **body.given_sampling())


# -- streaming -------------------------------------------------------------------------------


class _Stream:
    """A blocking iterator advanced in worker threads, one item at a time, so that it can
    be abandoned between items; `close()` ends it (and the generation it drives)."""

    def __init__(self, iterator: Iterator[Any], first: Any) -> None:
        self.iterator = iterator
        self.pending = first

    async def next(self) -> Any:
        if self.pending is not _END:
            item, self.pending = self.pending, _END
            return item
        return await anyio.to_thread.run_sync(next, self.iterator, _END)

    def rest(self) -> Iterator[Any]:
        """The remaining items (blocking; for non-streamed answers)."""
        if self.pending is not _END:
            yield self.pending
        yield from self.iterator

    def close(self) -> None:
        cancel = getattr(self.iterator, "cancel", None)
        if cancel:
            cancel()
        close = getattr(self.iterator, "close", None)
        if close:
            close()


async def _open_stream(gate: Gate, start: Callable[[], Iterator[Any]]) -> _Stream:
    """Start a generation and fetch its first item, so that errors the model raises up
    front (a bad request, a too-long prompt) become a 400 rather than a broken stream.
    Releases the gate on failure."""

    def first() -> _Stream:
        iterator = start()
        return _Stream(iterator, next(iterator, _END))

    try:
        return await anyio.to_thread.run_sync(first)
    except BaseException:
        gate.release()
        raise


def _sse(stream: _Stream, events: AsyncIterator[dict[str, Any]], request: Request, gate: Gate) -> StreamingResponse:
    """Server-sent events: `data: {json}` per event, then `data: [DONE]`. A client that goes
    away ends the generation before its next token."""

    async def body() -> AsyncIterator[bytes]:
        try:
            async for event in events:
                yield b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"
                if await request.is_disconnected():
                    return
            yield b"data: [DONE]\n\n"
        except RequestError as exc:
            yield b"data: " + json.dumps(_request_error(exc)).encode() + b"\n\n"
        except UpstreamError as exc:
            yield b"data: " + json.dumps(error_body(exc.message, type="upstream_error")).encode() + b"\n\n"
        except Exception as exc:  # headers are sent: the error can only be reported in the stream
            logger.exception("generation failed mid-stream")
            yield b"data: " + json.dumps(error_body(f"generation failed: {exc}", type="server_error")).encode() + b"\n\n"
        finally:
            stream.close()
            gate.release()

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _chat_chunks(stream: _Stream) -> AsyncIterator[dict[str, Any]]:
    while (chunk := await stream.next()) is not _END:
        yield chunk


async def _completion_chunks(stream: _Stream, holder: dict[str, Any], name: str,
                             include_usage: bool) -> AsyncIterator[dict[str, Any]]:
    head = {"id": "cmpl-" + uuid.uuid4().hex[:24], "object": "text_completion", "created": int(time.time()), "model": name}
    while (chunk := await stream.next()) is not _END:
        yield {**head, "choices": [{"index": 0, "text": chunk.text, "finish_reason": None, "logprobs": None}]}
    generation = holder["generation"]
    yield {**head, "choices": [{"index": 0, "text": "", "finish_reason": _finish(generation.finish_reason), "logprobs": None}]}
    if include_usage:
        usage = generation.usage
        yield {**head, "choices": [], "usage": {
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}}


def _finish(reason: str | None) -> str:
    return "length" if reason == "length" else "stop"


# -- errors ----------------------------------------------------------------------------------


def _request_error(exc: RequestError) -> dict[str, Any]:
    return error_body(exc.message, param=exc.param, code=exc.code)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def request_error(_: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(_request_error(exc), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request", "type": ""}
        if first.get("type") == "json_invalid":
            return JSONResponse(error_body("the request body is not valid JSON"), status_code=400)
        param = param_of(first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return JSONResponse(error_body(f"{param}: {message}" if param else message, param=param), status_code=400)

    @app.exception_handler(UpstreamError)
    async def upstream_error(_: Request, exc: UpstreamError) -> JSONResponse:
        kind = "invalid_request_error" if exc.status < 500 else "upstream_error"
        return JSONResponse(error_body(exc.message, type=kind), status_code=exc.status)

    @app.exception_handler(ConstraintUnsupported)
    async def constraint_unsupported(_: Request, exc: ConstraintUnsupported) -> JSONResponse:
        return JSONResponse(error_body(str(exc), param="grammar"), status_code=400)

    @app.exception_handler(QueueFull)
    async def queue_full(_: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse(error_body(str(exc), type="rate_limit_error", code="rate_limit_exceeded"),
                            status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(Exception)
    async def server_error(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("request failed")
        return JSONResponse(error_body(f"internal error: {exc}", type="server_error"), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail), type="invalid_request_error"),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))
