"""A real HTTP server on loopback that records what it receives and answers like an
engine server would (canned replies per route), for checking the exact requests each
remote engine sends."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Reply = Callable[[dict[str, Any]], Response]


def sse(*events: Any) -> Response:
    """Server-sent events: each event as `data: {json}`, then `data: [DONE]`."""
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return StreamingResponse(iter(lines), media_type="text/event-stream")


@dataclass
class Recorder:
    """`replies`: (method, path) -> reply; `received`: (method, path, JSON body) in order."""

    replies: dict[tuple[str, str], Reply]
    received: list[tuple[str, str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self, path: str) -> list[Any]:
        return [body for _, where, body in self.received if where == path]

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.received.append((request.method, request.url.path, body))
        reply = self.replies.get((request.method, request.url.path))
        if reply is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return reply(body or {})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(recorder: Recorder) -> Iterator[Recorder]:
    """Run `recorder` on a free loopback port until the generator is closed."""
    recorder.port = _free_port()
    app = Starlette(routes=[Route("/{path:path}", recorder._handle, methods=["GET", "POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=recorder.port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield recorder
    finally:
        server.should_exit = True
        thread.join(timeout=10)
