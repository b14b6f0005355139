"""The HTTP server: `create_app(model)` -> a FastAPI app speaking OpenAI's chat and text
completions, OpenAI's Responses API and Anthropic's Messages API.

The server knows APIs, not wire formats. Every chat-like endpoint runs one pipeline
(`answer`): its API module (`chat_completions.py`, `responses.py`, `messages.py`)
validates the request and translates it into `model.chat` keyword arguments; the request
is admitted (`_admission.py`), `model.chat` runs in a worker thread, and its answer is
translated back into the API's response or stream events (`sse.py`). Raw prompts go to
`model.engine.generate`. Errors are 4xx in the error shape of the API the path belongs to;
with a remote engine, an upstream's refusal keeps its 4xx and message, and an upstream
that fails or cannot be reached is a 502 (504 when it times out).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterator, Protocol, Sequence

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolwire.constrain import LarkConstraint
from toolwire.engine.base import ConstraintUnsupported
from toolwire.engine.sampling import SamplingParams, sampling_params
from toolwire.errors import Cancelled, RequestError, UpstreamError
from toolwire.server._admission import BearerAuth, Gate, QueueFull
from toolwire.server.chat_completions import ChatCompletions
from toolwire.server.messages import CountTokensRequest, Messages, MessagesRequest, anthropic_error
from toolwire.server.observability import CONTENT_TYPE_LATEST, AccessLog, ServerMetrics
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
    openai_error,
    validation_message,
)
from toolwire.server.responses import Responses, ResponsesRequest, ResponseStore
from toolwire.server.sse import END, ChatFraming, Stream, open_stream, sse_response
from toolwire.server.wire import ErrorShape, WireRequest

__all__ = ["ChatModel", "create_app"]


class ChatModel(Protocol):
    """What the server needs of a model (`toolwire.chat`): a name, `chat`, `render` and
    its engine."""

    name: str
    engine: Any

    def chat(self, messages: Any, **options: Any) -> Any:
        """A chat completion dict, or with `stream=True` an iterator of chunk dicts."""

    def render(self, messages: Any, tools: Any = None) -> str:
        """The prompt the model would see for `messages` and `tools`."""


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid request"},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    404: {"model": ErrorResponse, "description": "`model` names a model this server does not serve"},
    429: {"model": ErrorResponse, "description": "Queue full; see Retry-After"},
}
_ANTHROPIC_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request: {\"type\": \"error\", \"error\": {\"type\": \"invalid_request_error\", ...}}"},
    401: {"description": "Missing or wrong API key (`x-api-key` or `Authorization: Bearer`)"},
    404: {"description": "`model` names a model this server does not serve (see `toolwire serve --alias`)"},
    429: {"description": "Queue full; see Retry-After"},
}
logger = logging.getLogger("toolwire.server")


def error_shape(path: str) -> ErrorShape:
    """The error shape of the API a path belongs to: Anthropic's under `/v1/messages`,
    OpenAI's everywhere else."""
    return anthropic_error if path == "/v1/messages" or path.startswith("/v1/messages/") else openai_error


class UnknownModel(Exception):
    """A request named a model this server does not serve (404)."""

    def __init__(self, requested: str, served: Sequence[str]) -> None:
        super().__init__(f"The model {requested!r} does not exist here; this server serves "
                         f"{', '.join(repr(name) for name in served)} (more names: `toolwire serve --alias`)")


DEFAULT_MAX_TOKENS = 2048
"""The token limit of a chat request that gives none, so that one careless client cannot
hold a slot for the whole context (`toolwire serve --max-tokens`)."""


def create_app(model: ChatModel, *, api_key: str | None = None, max_queue: int = 8, concurrency: int = 1,
               aliases: Sequence[str] = (), default_max_tokens: int = DEFAULT_MAX_TOKENS) -> FastAPI:
    """The server for `model`. With `api_key`, every route but `/health` needs
    `Authorization: Bearer <api_key>` or `x-api-key: <api_key>`; `concurrency` generations
    run at once (more than one only for an engine that batches, such as a remote one); more
    than `max_queue` waiting requests get 429. A request's `model` must be the model's name
    or one of `aliases` (a client that insists on its own model name, such as an agent
    built for a hosted API); left out, it means the served model. A chat request that sets
    no token limit gets `default_max_tokens`."""
    app = FastAPI(title="toolwire", version="0.1.0",
                  description="OpenAI- and Anthropic-compatible function calling for local GGUF models.")
    gate = Gate(max_queue, concurrency)
    store = ResponseStore()
    app.state.gate = gate
    app.state.model = model
    name = getattr(model, "name", "toolwire")
    served = (name, *(alias for alias in aliases if alias != name))

    def check_model(requested: str | None) -> None:
        if requested is not None and requested not in served:
            raise UnknownModel(requested, served)

    metrics = ServerMetrics(gate)
    listeners = getattr(model, "turn_listeners", None)
    if listeners is not None:
        listeners.append(metrics.count_turn)
    _install_error_handlers(app)
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key, error_shape=error_shape)
    app.add_middleware(AccessLog, metrics=metrics)  # added last, so outermost: it sees 401s too

    async def answer(wire: WireRequest, request: Request) -> Any:
        """The one pipeline: translate, admit, run `model.chat` in a worker thread,
        translate the answer back (JSON, or server-sent events when streaming)."""
        try:
            options = wire.chat_options()
            options.setdefault("max_tokens", default_max_tokens)
            await admit(request)
            if wire.stream:
                stream = await open_stream(gate, lambda: iter(wire.events(model.chat(stream=True, **options))))
                return sse_response(stream, request, gate, wire.framing())
            cancel = threading.Event()
            try:
                async with watching_disconnect(request, cancel):
                    result = await anyio.to_thread.run_sync(
                        lambda: wire.response(model.chat(stream=False, cancel=cancel, **options)))
            finally:
                gate.release()
        except RequestError as error:
            raise wire.request_error(error) from None
        return JSONResponse(result)  # passed through as written, not re-validated

    async def admit(request: Request) -> None:
        """Wait for a slot; a request whose client left while it waited gives its turn up."""
        await gate.acquire()
        if await request.is_disconnected():
            gate.release()
            raise Cancelled("the client left while the request waited for a slot")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: answers while a generation runs."""
        return {"status": "ok", "model": name, "running": gate.running, "waiting": gate.waiting}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus_metrics() -> PlainTextResponse:
        """Prometheus metrics: slots busy, queue length, prompt tokens (and reused), tokens
        generated, request latency by path and status."""
        return PlainTextResponse(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", response_model=ModelList, responses=_ERRORS)
    async def models() -> ModelList:
        n_ctx = getattr(model.engine, "n_ctx", None)
        return ModelList(data=[ModelCard(id=served_name, max_model_len=n_ctx) for served_name in served])

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
        check_model(body.model)
        return await answer(ChatCompletions(body), request)

    @app.post("/v1/responses", responses=_ERRORS)
    async def responses(body: ResponsesRequest, request: Request) -> Any:
        """OpenAI's Responses API (function tools); `stream: true` answers with its events.
        `previous_response_id` continues a response this server stored (bounded, in memory)."""
        check_model(body.model)
        return await answer(Responses(body, store), request)

    @app.post("/v1/messages", responses=_ANTHROPIC_ERRORS)
    async def messages(body: MessagesRequest, request: Request) -> Any:
        """Anthropic's Messages API (client tools); `stream: true` answers with its events."""
        check_model(body.model)
        return await answer(Messages(body), request)

    @app.post("/v1/messages/count_tokens", responses=_ANTHROPIC_ERRORS)
    async def count_tokens(body: CountTokensRequest) -> Any:
        """Anthropic's token count: `{"input_tokens": n}`, the tokens of the prompt the
        model would be given (its template, the tools described)."""
        check_model(body.model)
        options = Messages(body).chat_options()
        prompt = await anyio.to_thread.run_sync(lambda: model.render(options["messages"], options.get("tools")))
        return {"input_tokens": await anyio.to_thread.run_sync(model.engine.count_tokens, prompt)}

    @app.post("/v1/completions", response_model=Completion, responses=_ERRORS)
    async def completions(body: CompletionRequest, request: Request) -> Any:
        """Raw-prompt completions, optionally under an llguidance Lark `grammar`."""
        check_model(body.model)
        sampling = _sampling(body)
        await admit(request)
        holder: dict[str, Any] = {}

        def start() -> Iterator[Any]:
            holder["generation"] = model.engine.generate(
                body.text(), sampling=sampling, constraint=LarkConstraint(body.grammar) if body.grammar else None)
            return iter(holder["generation"])

        stream = await open_stream(gate, start)
        if body.stream:
            chunks = _completion_chunks(stream, holder, name, body.include_usage())
            return sse_response(stream, request, gate, ChatFraming(), chunks)
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


@asynccontextmanager
async def watching_disconnect(request: Request, cancel: threading.Event,
                              every_s: float = 0.1) -> AsyncIterator[None]:
    """While the body runs, set `cancel` as soon as the client disconnects (a non-streamed
    answer is then stopped before its next token instead of being generated for nobody)."""

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(every_s)
        cancel.set()

    watcher = asyncio.ensure_future(watch())  # not a task group: the body's errors stay unwrapped
    try:
        yield
    finally:
        watcher.cancel()


def _sampling(body: CompletionRequest) -> SamplingParams:
    return sampling_params(max_tokens=body.max_tokens, **body.given_sampling())


# -- streaming -------------------------------------------------------------------------------


async def _completion_chunks(stream: Stream, holder: dict[str, Any], name: str,
                             include_usage: bool) -> AsyncIterator[dict[str, Any]]:
    head = {"id": "cmpl-" + uuid.uuid4().hex[:24], "object": "text_completion", "created": int(time.time()), "model": name}
    while (chunk := await stream.next()) is not END:
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


def _error(request: Request, status: int, message: str, *, param: str | None = None, code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body = error_shape(request.url.path)(status, message, param=param, code=code)
    return JSONResponse(body, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return _error(request, 400, exc.message, param=exc.param, code=exc.code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(error.get("type") == "json_invalid" for error in exc.errors()):
            return _error(request, 400, "the request body is not valid JSON")
        message, param = validation_message(exc.errors())
        return _error(request, 400, message, param=param)

    @app.exception_handler(UpstreamError)
    async def upstream_error(request: Request, exc: UpstreamError) -> JSONResponse:
        return _error(request, exc.status, exc.message)

    @app.exception_handler(ConstraintUnsupported)
    async def constraint_unsupported(request: Request, exc: ConstraintUnsupported) -> JSONResponse:
        return _error(request, 400, str(exc), param="grammar")

    @app.exception_handler(Cancelled)
    async def cancelled(request: Request, exc: Cancelled) -> Response:
        logger.info("%s %s: %s", request.method, request.url.path, exc)
        return Response(status_code=499)  # nobody reads it: nginx's "client closed request"

    @app.exception_handler(UnknownModel)
    async def unknown_model(request: Request, exc: UnknownModel) -> JSONResponse:
        return _error(request, 404, str(exc), param="model", code="model_not_found")

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        return _error(request, 429, str(exc), code="rate_limit_exceeded", headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("request failed")
        return _error(request, 500, f"internal error: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))
