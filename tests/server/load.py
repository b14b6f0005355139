"""Load test: N concurrent streaming clients on loopback, a quarter disconnecting early.

Checks that every completed stream is valid (ends with a finish_reason and `[DONE]`; tool
calls carry valid JSON arguments), that /health answers throughout, and that the server's
RSS returns near its baseline. Bounded: one request per client, a per-request timeout.

    python -m tests.server.load --clients 32            # starts its own server
    python -m tests.server.load --url http://127.0.0.1:8300 --pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx
import psutil

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Quito", "Seoul", "Perth")


@dataclass
class Report:
    clients: int
    completed: int = 0
    disconnected: int = 0
    rejected: int = 0
    unfinished: int = 0
    invalid: list[str] = field(default_factory=list)
    health_checks: int = 0
    health_failures: int = 0
    health_worst_ms: float = 0.0
    first_chunk_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    rss_baseline_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0

    def lines(self) -> list[str]:
        waits = sorted(self.first_chunk_ms) or [0.0]
        return [
            f"clients {self.clients}: completed {self.completed}, disconnected early {self.disconnected}, "
            f"rejected (429) {self.rejected}, unfinished at the deadline {self.unfinished}, invalid {len(self.invalid)}",
            f"wall time {self.seconds:.1f} s; first chunk median {waits[len(waits) // 2]:.0f} ms, max {waits[-1]:.0f} ms",
            f"/health: {self.health_checks} checks, {self.health_failures} failures, worst {self.health_worst_ms:.0f} ms",
            f"server RSS: baseline {self.rss_baseline_mb:.0f} MB, peak {self.rss_peak_mb:.0f} MB, "
            f"after {self.rss_after_mb:.0f} MB",
        ]


def _body(i: int, early: bool) -> dict:
    city = CITIES[i % len(CITIES)]
    if i % 2:
        return {"messages": [{"role": "user", "content": f"What's the weather in {city}?"}], "tools": [WEATHER],
                "tool_choice": "required", "max_tokens": 40, "stream": True}
    return {"messages": [{"role": "user", "content": f"Describe {city} in one sentence."}],
            "max_tokens": 200 if early else 24, "stream": True}


async def _client(http: httpx.AsyncClient, url: str, i: int, early: bool, report: Report, start: float) -> None:
    chunks, calls, finish, done = 0, {}, None, False
    try:
        async with http.stream("POST", url + "/v1/chat/completions", json=_body(i, early)) as response:
            if response.status_code == 429:
                report.rejected += 1
                return
            if response.status_code != 200:
                report.invalid.append(f"client {i}: HTTP {response.status_code}")
                return
            async for line in response.aiter_lines():
                if not line:
                    continue
                if line == "data: [DONE]":
                    done = True
                    break
                chunk = json.loads(line.removeprefix("data: "))
                if "error" in chunk:
                    report.invalid.append(f"client {i}: {chunk['error']['message']}")
                    return
                if chunks == 0:
                    report.first_chunk_ms.append((time.perf_counter() - start) * 1000)
                chunks += 1
                for choice in chunk["choices"]:
                    for part in choice["delta"].get("tool_calls") or []:
                        call = calls.setdefault(part["index"], {"name": None, "arguments": ""})
                        call["name"] = call["name"] or part.get("function", {}).get("name")
                        call["arguments"] += part.get("function", {}).get("arguments") or ""
                    finish = choice.get("finish_reason") or finish
                if early and chunks >= 3:
                    report.disconnected += 1
                    return  # leaving the block closes the connection mid-stream
    except httpx.HTTPError as exc:
        report.invalid.append(f"client {i}: {type(exc).__name__}: {exc}")
        return
    problems = []
    if not done or finish not in ("stop", "length", "tool_calls"):
        problems.append(f"ended without [DONE]/finish_reason ({finish})")
    ordered = [calls[index] for index in sorted(calls)]
    for position, call in enumerate(ordered):
        cut_short = finish == "length" and position == len(ordered) - 1  # a cut answer's last call may be unfinished
        try:
            if not call["name"] or not isinstance(json.loads(call["arguments"]), dict):
                problems.append("bad call")
        except json.JSONDecodeError:
            if not cut_short:
                problems.append(f"arguments not JSON: {call['arguments']!r}")
    if calls and finish not in ("tool_calls", "length"):
        problems.append(f"calls with finish_reason {finish}")
    if problems:
        report.invalid.append(f"client {i}: {'; '.join(problems)}")
    else:
        report.completed += 1


async def _watch_health(http: httpx.AsyncClient, url: str, report: Report, process: psutil.Process | None,
                        stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            ok = (await http.get(url + "/health", timeout=5)).status_code == 200
        except httpx.HTTPError:
            ok = False
        report.health_checks += 1
        report.health_failures += not ok
        report.health_worst_ms = max(report.health_worst_ms, (time.perf_counter() - started) * 1000)
        if process is not None:
            report.rss_peak_mb = max(report.rss_peak_mb, process.memory_info().rss / 2**20)
        await asyncio.sleep(0.25)


async def run_load(url: str, *, clients: int = 32, pid: int | None = None, timeout: float = 600) -> Report:
    """Run the load once against the server at `url` (loopback only)."""
    host = httpx.URL(url).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the load test only targets loopback, not {host}")
    process = psutil.Process(pid) if pid else None
    report = Report(clients)
    if process is not None:
        report.rss_baseline_mb = report.rss_peak_mb = process.memory_info().rss / 2**20
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        stop = asyncio.Event()
        watcher = asyncio.create_task(_watch_health(http, url, report, process, stop))
        start = time.perf_counter()
        tasks = [asyncio.create_task(_client(http, url, i, i % 4 == 0, report, start)) for i in range(clients)]
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:  # bounded: clients still running at the deadline are counted and dropped
            task.cancel()
        report.unfinished = len(pending)
        report.seconds = time.perf_counter() - start
        await asyncio.sleep(1.0)  # let cancelled generations unwind
        stop.set()
        await watcher
    if process is not None:
        report.rss_after_mb = process.memory_info().rss / 2**20
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one with smollm2-135m)")
    parser.add_argument("--pid", type=int, help="the running server's process id, for RSS")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--parallel", type=int, default=4, help="slots of the server it starts (default 4)")
    parser.add_argument("--timeout", type=float, default=900, help="deadline of the whole run, seconds")
    args = parser.parse_args()
    server = None
    if args.url is None:
        from tests.server.serving import start_server

        server = start_server("--max-queue", str(args.clients), "--parallel", str(args.parallel))
        args.url, args.pid = server.base_url, server.process.pid
    try:
        # warm-up: one request so the baseline includes the model's first-use allocations
        httpx.post(args.url + "/v1/chat/completions", timeout=120, json={**_body(1, False), "stream": False})
        report = asyncio.run(run_load(args.url, clients=args.clients, pid=args.pid, timeout=args.timeout))
    finally:
        if server is not None:
            from tests.server.serving import stop_server

            stop_server(server)
    print("\n".join(report.lines()))
    for problem in report.invalid:
        print("  invalid:", problem)
    return 1 if report.invalid or report.health_failures or report.unfinished else 0


if __name__ == "__main__":
    raise SystemExit(main())
