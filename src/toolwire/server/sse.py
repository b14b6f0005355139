"""Server-sent events: a generation's items pulled in worker threads and written as SSE,
framed the way each API frames them (`SseFraming`).

OpenAI's chat completions send `data: {json}` lines ending with `data: [DONE]`; the
Responses and Anthropic Messages APIs name each event (`event: <type>`) and end with their
own last event. Errors after the headers are sent can only be reported in the stream, as
each API's error event.
"""

from __future__ import annotations

import json
import logging
from typing import Any, AsyncIterator, Callable, Iterator, Protocol

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse

from toolwire.errors import RequestError, UpstreamError
from toolwire.server._admission import Gate
from toolwire.server.protocol import openai_error

__all__ = ["ChatFraming", "END", "NamedEventFraming", "SseFraming", "Stream", "open_stream", "sse_response"]

END = object()
"""What `Stream.next()` returns once the iterator is exhausted."""

logger = logging.getLogger("toolwire.server")


class SseFraming(Protocol):
    """How one API writes its events, its in-stream errors and its end."""

    def event(self, event: dict[str, Any]) -> bytes: ...

    def error(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
        """An error event, of the kind the HTTP `status` would have said had the headers
        not been sent yet (400: a bad request, 500: the generation failed, 502: upstream)."""

    def end(self) -> bytes: ...


def _data(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


class ChatFraming:
    """OpenAI chat/text completions: `data: {json}` per chunk, `data: [DONE]` at the end."""

    def event(self, event: dict[str, Any]) -> bytes:
        return _data(event)

    def error(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
        return _data(openai_error(status, message, param=param, code=code))

    def end(self) -> bytes:
        return b"data: [DONE]\n\n"


class NamedEventFraming:
    """`event: <type>` then `data: {json}` per event (the event's own `type`); nothing
    after the last event. A base for the APIs that frame events this way; each adds the
    `error` event of its own shape."""

    def event(self, event: dict[str, Any]) -> bytes:
        return b"event: " + str(event["type"]).encode() + b"\n" + _data(event)

    def end(self) -> bytes:
        return b""


class Stream:
    """A blocking iterator advanced in worker threads, one item at a time, so that it can
    be abandoned between items; `close()` ends it (and the generation it drives)."""

    def __init__(self, iterator: Iterator[Any], first: Any) -> None:
        self.iterator = iterator
        self.pending = first

    async def next(self) -> Any:
        if self.pending is not END:
            item, self.pending = self.pending, END
            return item
        return await anyio.to_thread.run_sync(next, self.iterator, END)

    def rest(self) -> Iterator[Any]:
        """The remaining items (blocking; for non-streamed answers)."""
        if self.pending is not END:
            yield self.pending
        yield from self.iterator

    def close(self) -> None:
        cancel = getattr(self.iterator, "cancel", None)
        if cancel:
            cancel()
        close = getattr(self.iterator, "close", None)
        if close:
            close()


async def open_stream(gate: Gate, start: Callable[[], Iterator[Any]]) -> Stream:
    """Start a generation and fetch its first item, so that errors the model raises up
    front (a bad request, a too-long prompt) become a 400 rather than a broken stream.
    Releases the gate on failure."""

    def first() -> Stream:
        iterator = start()
        return Stream(iterator, next(iterator, END))

    try:
        return await anyio.to_thread.run_sync(first)
    except BaseException:
        gate.release()
        raise


async def _items(stream: Stream) -> AsyncIterator[Any]:
    while (item := await stream.next()) is not END:
        yield item


def sse_response(stream: Stream, request: Request, gate: Gate, framing: SseFraming,
                 events: AsyncIterator[dict[str, Any]] | None = None) -> StreamingResponse:
    """The stream's items (or `events` made from them) as server-sent events. A client that
    goes away ends the generation before its next token; the gate is released at the end."""

    async def body() -> AsyncIterator[bytes]:
        try:
            async for event in events if events is not None else _items(stream):
                yield framing.event(event)
                if await request.is_disconnected():
                    return
            yield framing.end()
        except RequestError as exc:
            yield framing.error(400, exc.message, param=exc.param, code=exc.code)
        except UpstreamError as exc:
            yield framing.error(exc.status, exc.message)
        except Exception as exc:  # headers are sent: the error can only be reported in the stream
            logger.exception("generation failed mid-stream")
            yield framing.error(500, f"generation failed: {exc}")
        finally:
            stream.close()
            gate.release()

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
