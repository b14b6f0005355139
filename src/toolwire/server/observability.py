"""What the server tells its operator: `/metrics` in Prometheus' text format and one access
log line per request (logger `toolwire.access`, info level).

The metrics live in a registry of their own per app (not prometheus-client's global one),
so two apps in one process do not mix their counts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toolwire.chat.response import TurnUsage

__all__ = ["AccessLog", "CONTENT_TYPE_LATEST", "ServerMetrics"]

access_logger = logging.getLogger("toolwire.access")

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)


class ServerMetrics:
    """The server's counters and gauges. Slots and queue are read from the admission gate
    when scraped; tokens are counted as turns end (`count_turn`); request latency is
    observed by `AccessLog`."""

    def __init__(self, gate: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        slots = Gauge("toolwire_slots_busy", "Generations running now", registry=self.registry)
        slots.set_function(lambda: gate.active)
        total = Gauge("toolwire_slots", "Generations that may run at once", registry=self.registry)
        total.set_function(lambda: gate.concurrency)
        queue = Gauge("toolwire_queue_length", "Requests waiting for a slot", registry=self.registry)
        queue.set_function(lambda: gate.waiting)
        self.prompt_tokens = Counter("toolwire_prompt_tokens", "Prompt tokens of answered turns",
                                     registry=self.registry)
        self.reused_tokens = Counter("toolwire_prompt_tokens_reused",
                                     "Prompt tokens taken from the cache instead of evaluated", registry=self.registry)
        self.generated_tokens = Counter("toolwire_generated_tokens", "Tokens generated (rejected ones included)",
                                        registry=self.registry)
        self.latency = Histogram("toolwire_request_seconds", "Time from request to the end of its answer",
                                 ["path", "status"], buckets=_LATENCY_BUCKETS, registry=self.registry)

    def count_turn(self, usage: TurnUsage) -> None:
        """Count the tokens of a turn that ended (answered, cut or cancelled)."""
        self.prompt_tokens.inc(usage.prompt_tokens)
        self.reused_tokens.inc(usage.cached_tokens)
        self.generated_tokens.inc(usage.completion_tokens)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class AccessLog:
    """An ASGI middleware: one info line per HTTP request when its answer ends (a stream
    included): method, path, status, seconds, client; and the latency histogram."""

    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._paths: frozenset[str] | None = None

    def _routes(self, scope: Scope) -> frozenset[str]:
        if self._paths is None:
            self._paths = frozenset(getattr(route, "path", "") for route in getattr(scope.get("app"), "routes", ()))
        return self._paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            seconds = time.perf_counter() - started
            path = scope["path"]
            label = path if path in self._routes(scope) else "(no route)"  # bounded label values
            client = scope.get("client")
            shown = status or 499  # nginx's "client closed request": no answer was started
            self.metrics.latency.labels(path=label, status=str(shown)).observe(seconds)
            access_logger.info("%s %s %d %.3fs %s", scope["method"], path, shown, seconds,
                               f"{client[0]}:{client[1]}" if client else "-")
