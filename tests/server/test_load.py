"""A small run of the load test (`tests/server/load.py`): 8 streaming clients, 2 of them
disconnecting early, on the shared server."""

from __future__ import annotations

import httpx
import psutil
import pytest

from tests.server.load import run_load
from tests.server.serving import Server, start_server, stop_server

pytestmark = [pytest.mark.model, pytest.mark.slow]


async def test_eight_streaming_clients(server: Server) -> None:
    report = await run_load(server.base_url, clients=8, pid=server.process.pid, timeout=300)
    assert report.invalid == []
    assert report.unfinished == 0
    assert report.completed + report.disconnected + report.rejected == 8
    assert report.disconnected == 2
    assert report.health_failures == 0 and report.health_checks > 0
    assert report.health_worst_ms < 2000
    assert psutil.Process(server.process.pid).is_running()
    assert report.rss_after_mb < report.rss_baseline_mb + 150  # no per-request leak worth the name


async def test_thirty_two_clients_on_four_slots_with_early_disconnects() -> None:
    """The load test as the issue states it: 32 streaming clients (8 leave early) on a
    server with 4 batched slots; nothing lost, RSS back near its baseline, every slot free."""
    server = start_server("--parallel", "4", "--max-queue", "32")
    try:
        httpx.post(server.v1 + "/chat/completions", timeout=120,  # the baseline includes first-use allocations
                   json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
        report = await run_load(server.base_url, clients=32, pid=server.process.pid, timeout=600)
        assert report.invalid == [] and report.unfinished == 0 and report.rejected == 0
        assert report.completed + report.disconnected == 32 and report.disconnected == 8
        assert report.health_failures == 0
        assert report.rss_after_mb < report.rss_baseline_mb + 150
        metrics = httpx.get(server.base_url + "/metrics").text
        assert "toolwire_slots 4.0" in metrics and "toolwire_slots_busy 0.0" in metrics
        assert "toolwire_queue_length 0.0" in metrics
    finally:
        stop_server(server)
