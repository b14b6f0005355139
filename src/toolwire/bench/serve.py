"""`toolwire bench serve`: a served model under C concurrent clients, side by side with
llama.cpp's server on the same GGUF.

Starts `toolwire serve` on loopback (and, with `--peer PATH`, `llama-server` with the same
slot count and context), then for each C in `--clients` runs C clients at once, each
sending `--requests` requests one after another from a fixed, seeded mix: tool-call
requests (`tool_choice` auto or required, one or two tools) and text requests, half of
them streamed. Reports per server and C: aggregate completion tokens/s (all clients'
tokens over the wall time), requests/s, time to first token (streamed requests) and
latency p50/p95, and the server's peak RSS; with a peer, the ratios toolwire/llama-server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

__all__ = ["Outcome", "Row", "add_arguments", "main", "requests_mix", "run_clients", "summarise", "table"]

DEFAULT_MODEL = "qwen2.5-coder-0.5b"

_TOOLS = {
    "get_weather": {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                       "required": ["city"]}}},
    "get_time": {"type": "function", "function": {
        "name": "get_time", "description": "Current local time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
}
_CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Quito", "Seoul", "Perth", "Nairobi", "Montreal")
_TOPICS = ("the sea", "a library", "autumn", "a train station", "coffee", "the moon", "a market", "snow")


def requests_mix(count: int, seed: int, max_tokens: int) -> list[dict[str, Any]]:
    """`count` chat request bodies, the same for the same seed: 2 in 3 ask for a tool call
    (auto or required; one or both tools), 1 in 3 for text; every other one streamed."""
    rng = random.Random(seed)
    bodies = []
    for index in range(count):
        city = rng.choice(_CITIES)
        if index % 3 == 2:
            body: dict[str, Any] = {"messages": [{"role": "user", "content": f"Write two sentences about {rng.choice(_TOPICS)}."}]}
        else:
            names = ["get_weather", "get_time"] if rng.random() < 0.5 else ["get_weather"]
            ask = "What time is it in" if names[-1] == "get_time" and rng.random() < 0.5 else "What's the weather in"
            body = {"messages": [{"role": "user", "content": f"{ask} {city}?"}],
                    "tools": [_TOOLS[name] for name in names], "tool_choice": rng.choice(["auto", "required"])}
        body.update(max_tokens=max_tokens, temperature=0.0, stream=index % 2 == 1)
        if body["stream"]:
            body["stream_options"] = {"include_usage": True}
        bodies.append(body)
    return bodies


@dataclass
class Outcome:
    """One request: its latency, time to first token (streamed), completion tokens, error."""

    latency_s: float
    ttft_s: float | None
    completion_tokens: int
    error: str | None = None


async def _send(http: Any, url: str, body: dict[str, Any]) -> Outcome:
    started = time.perf_counter()
    try:
        if not body["stream"]:
            response = await http.post(url, json=body)
            if response.status_code != 200:
                return Outcome(time.perf_counter() - started, None, 0, f"HTTP {response.status_code}: {response.text[:200]}")
            tokens = int((response.json().get("usage") or {}).get("completion_tokens") or 0)
            return Outcome(time.perf_counter() - started, None, tokens)
        first: float | None = None
        tokens = deltas = 0
        async with http.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                text = (await response.aread()).decode(errors="replace")
                return Outcome(time.perf_counter() - started, None, 0, f"HTTP {response.status_code}: {text[:200]}")
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    tokens = int(chunk["usage"].get("completion_tokens") or 0)
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content") or delta.get("tool_calls"):
                        deltas += 1
                        if first is None:
                            first = time.perf_counter() - started
        return Outcome(time.perf_counter() - started, first, tokens or deltas)
    except Exception as exc:  # noqa: BLE001 - recorded per request, reported in the table
        return Outcome(time.perf_counter() - started, None, 0, f"{type(exc).__name__}: {exc}")


async def run_clients(base_url: str, bodies: Sequence[dict[str, Any]], clients: int,
                      timeout_s: float = 600) -> tuple[list[Outcome], float]:
    """`clients` clients at once, client i sending bodies i, i + clients, ... in turn.
    Returns every outcome and the wall time."""
    import httpx

    url = base_url.rstrip("/") + "/v1/chat/completions"
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as http:
        async def client(first: int) -> list[Outcome]:
            return [await _send(http, url, body) for body in bodies[first::clients]]

        started = time.perf_counter()
        results = await asyncio.gather(*(client(i) for i in range(clients)))
        wall = time.perf_counter() - started
    return [outcome for outcomes in results for outcome in outcomes], wall


def _percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (a value that occurred); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Row:
    """One server at one client count."""

    server: str
    clients: int
    requests: int
    errors: int
    tokens_per_s: float
    requests_per_s: float
    ttft_p50_s: float
    latency_p50_s: float
    latency_p95_s: float
    peak_rss_mb: float
    first_error: str | None = field(default=None, repr=False)


def summarise(server: str, clients: int, outcomes: Sequence[Outcome], wall_s: float, peak_rss_mb: float) -> Row:
    """The row of one run."""
    good = [outcome for outcome in outcomes if outcome.error is None]
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    return Row(server=server, clients=clients, requests=len(outcomes), errors=len(errors),
               tokens_per_s=sum(o.completion_tokens for o in good) / wall_s if wall_s > 0 else 0.0,
               requests_per_s=len(good) / wall_s if wall_s > 0 else 0.0,
               ttft_p50_s=_percentile([o.ttft_s for o in good if o.ttft_s is not None], 0.5),
               latency_p50_s=_percentile([o.latency_s for o in good], 0.5),
               latency_p95_s=_percentile([o.latency_s for o in good], 0.95),
               peak_rss_mb=peak_rss_mb, first_error=errors[0] if errors else None)


def table(rows: Sequence[Row]) -> str:
    """A markdown table; with llama-server rows, toolwire rows gain tokens/s and p95
    ratios against llama-server at the same client count; and every server's tokens/s and
    p95 relative to its own 1-client row."""
    peers = {row.clients: row for row in rows if row.server == "llama-server"}
    alone = {row.server: row for row in rows if row.clients == 1}
    lines = ["| server | clients | requests | errors | tokens/s | requests/s | TTFT p50 s | latency p50 s "
             "| latency p95 s | peak RSS MB | tokens/s vs 1 client | p95 vs 1 client | tokens/s vs llama-server "
             "| p95 vs llama-server |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        base = alone.get(row.server)
        peer = peers.get(row.clients) if row.server != "llama-server" else None
        lines.append(
            f"| {row.server} | {row.clients} | {row.requests} | {row.errors} | {row.tokens_per_s:.1f} "
            f"| {row.requests_per_s:.2f} | {row.ttft_p50_s:.2f} | {row.latency_p50_s:.2f} | {row.latency_p95_s:.2f} "
            f"| {row.peak_rss_mb:.0f} | {_ratio(row.tokens_per_s, base.tokens_per_s if base else None)} "
            f"| {_ratio(row.latency_p95_s, base.latency_p95_s if base else None)} "
            f"| {_ratio(row.tokens_per_s, peer.tokens_per_s if peer else None)} "
            f"| {_ratio(row.latency_p95_s, peer.latency_p95_s if peer else None)} |")
    return "\n".join(lines) + "\n"


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "–"


# -- servers -------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    """A server subprocess on loopback, up once `/health` answers 200; its peak RSS
    sampled while clients run."""

    def __init__(self, name: str, command: list[str], port: int, timeout_s: float = 300) -> None:
        import httpx

        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited: {Path(self.log.name).read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{name} did not answer /health within {timeout_s:.0f} s")

    def rss_mb(self) -> float:
        import psutil

        try:
            return psutil.Process(self.process.pid).memory_info().rss / 2**20
        except psutil.Error:
            return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _servers(args: argparse.Namespace) -> Iterator[tuple[str, list[str], int]]:
    """(name, command, port) of each server to measure."""
    from toolwire.models import resolve_model

    port = _free_port()
    toolwire = [sys.executable, "-m", "toolwire.cli", "serve", "--model", args.model, "--port", str(port),
                "--ctx", str(args.ctx), "--no-check"]
    if args.parallel is not None:
        toolwire += ["--parallel", str(args.parallel)]
    toolwire += shlex.split(args.serve_args)
    yield "toolwire", toolwire, port
    if args.peer:
        port = _free_port()
        slots = args.parallel or 1
        yield "llama-server", [str(args.peer), "-m", str(resolve_model(args.model)), "--host", "127.0.0.1",
                               "--port", str(port), "-c", str(args.ctx * slots), "-np", str(slots), "--jinja",
                               "-t", str(os.cpu_count() or 1), "--no-webui"], port


async def _measure(server: _Process, bodies: Sequence[dict[str, Any]], clients: int) -> Row:
    peak = server.rss_mb()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.rss_mb())
            await asyncio.sleep(0.2)

    sampler = asyncio.ensure_future(sample())
    try:
        outcomes, wall = await run_clients(server.url, bodies, clients)
    finally:
        done.set()
        await sampler
    return summarise(server.name, clients, outcomes, wall, peak)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `toolwire bench serve`."""
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"packaged model name or .gguf path (default {DEFAULT_MODEL})")
    parser.add_argument("--clients", default="1,2,4,8", help="comma-separated client counts (default 1,2,4,8)")
    parser.add_argument("--requests", type=int, default=4, help="requests per client at each count (default 4)")
    parser.add_argument("--max-tokens", type=int, default=64, help="per request (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="of the request mix (default 0)")
    parser.add_argument("--ctx", type=int, default=4096, help="context per slot (default 4096)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="slots: toolwire serve --parallel N and llama-server -np N (default: toolwire's own)")
    parser.add_argument("--peer", type=Path, default=None, metavar="PATH",
                        help="a llama-server binary to measure on the same requests (`toolwire build llama-server`)")
    parser.add_argument("--serve-args", default="", metavar="ARGS",
                        help="more `toolwire serve` options, e.g. '--parallel-calls model' to leave out a policy's cost")
    parser.add_argument("--output", type=Path, default=None, help="also write the table (markdown) here")


def main(args: argparse.Namespace) -> int:
    """Measure each server at each client count; print the table."""
    counts = [int(text) for text in args.clients.split(",") if text.strip()]
    if not counts or min(counts) < 1 or args.requests < 1:
        raise ValueError("--clients needs counts of at least 1 and --requests at least 1")
    rows: list[Row] = []
    for name, command, port in _servers(args):
        server = _Process(name, command, port)
        try:
            for clients in counts:
                bodies = requests_mix(clients * args.requests, args.seed, args.max_tokens)
                asyncio.run(run_clients(server.url, bodies[:1], 1))  # warm up: model pages, first prompt
                rows.append(asyncio.run(_measure(server, bodies, clients)))
                print(f"{name}: {clients} clients done", file=sys.stderr, flush=True)
        finally:
            server.stop()
    text = table(rows)
    for row in rows:
        if row.first_error:
            text += f"\n{row.server} at {row.clients} clients: {row.errors} errors, first: {row.first_error}"
    print(text)
    if args.output:
        args.output.write_text(f"```\n{_command(args)}\n```\n\n{text}\n", encoding="utf-8")
    return 0


def _command(args: argparse.Namespace) -> str:
    parts = ["toolwire", "bench", "serve", "--model", args.model, "--clients", args.clients,
             "--requests", str(args.requests), "--max-tokens", str(args.max_tokens), "--seed", str(args.seed)]
    if args.parallel is not None:
        parts += ["--parallel", str(args.parallel)]
    if args.serve_args:
        parts += ["--serve-args", args.serve_args]
    if args.peer:
        parts += ["--peer", str(args.peer)]
    return shlex.join(parts)
