"""Who gets in: the bearer-key check (an ASGI middleware) and the generation queue.

The engine runs one generation at a time. Requests wait for it here, in the event loop
rather than in worker threads, so a waiting request costs nothing, can be cancelled, and
can be counted: past `max_waiting` waiters a request is turned away (429).
"""

from __future__ import annotations

import json
import math
import secrets
import time
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from toolwire.server.protocol import error_body

__all__ = ["BearerAuth", "Gate", "QueueFull"]


class QueueFull(Exception):
    """More requests are waiting than the queue admits; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy; retry after {retry_after} s")
        self.retry_after = retry_after


class Gate:
    """`concurrency` generations at a time (one for an in-process engine; more for a
    gateway whose upstream batches); at most `max_waiting` requests waiting behind them."""

    def __init__(self, max_waiting: int, concurrency: int = 1) -> None:
        self.max_waiting = max_waiting
        self.concurrency = concurrency
        self.waiting = 0
        self.active = 0
        self._slot = anyio.Semaphore(concurrency)  # not a Lock: a stream releases it from another task
        self._seconds = 2.0  # moving average of a generation's duration
        self._started = 0.0

    @property
    def running(self) -> bool:
        """Whether a generation is running."""
        return self.active > 0

    async def acquire(self) -> None:
        """Wait for the engine; raise `QueueFull` at once when the queue is full."""
        if self.active >= self.concurrency and self.waiting >= self.max_waiting:
            raise QueueFull(max(1, math.ceil(self._seconds * (self.waiting + 1) / self.concurrency)))
        self.waiting += 1
        try:
            await self._slot.acquire()
        finally:
            self.waiting -= 1
        self.active += 1
        self._started = time.monotonic()

    def release(self) -> None:
        """Free the engine for the next waiter (safe to call from a `finally`)."""
        self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - self._started)
        self.active -= 1
        self._slot.release()


class BearerAuth:
    """Reject requests without `Authorization: Bearer <key>` (401), except `open_paths`."""

    def __init__(self, app: ASGIApp, *, api_key: str, open_paths: frozenset[str] = frozenset({"/health"})) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body(
            "Incorrect or missing API key: send `Authorization: Bearer <key>`.", code="invalid_api_key")).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _authorised(self, scope: dict[str, Any]) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return secrets.compare_digest(value, self.expected)
        return False
