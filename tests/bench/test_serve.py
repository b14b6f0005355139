"""`toolwire bench serve`: the request mix, the summary and table; one real run on SmolLM2
beside llama-server."""

from __future__ import annotations

import argparse
import math

import pytest

from toolwire.bench import serve
from toolwire.bench.serve import Outcome, Row


def test_the_request_mix_is_seeded_and_mixes_calls_text_and_streaming() -> None:
    bodies = serve.requests_mix(12, seed=3, max_tokens=32)
    assert bodies == serve.requests_mix(12, seed=3, max_tokens=32)
    assert bodies != serve.requests_mix(12, seed=4, max_tokens=32)
    assert serve.requests_mix(24, seed=3, max_tokens=32)[:12] == bodies  # more clients: the same requests first
    with_tools = [body for body in bodies if "tools" in body]
    assert len(with_tools) == 8 and {body["tool_choice"] for body in with_tools} <= {"auto", "required"}
    assert sum(body["stream"] for body in bodies) == 6
    assert all(body["stream_options"] == {"include_usage": True} for body in bodies if body["stream"])
    assert all(body["max_tokens"] == 32 and body["temperature"] == 0.0 for body in bodies)


def test_a_summary_counts_tokens_over_wall_time_and_leaves_errors_out() -> None:
    outcomes = [Outcome(1.0, 0.2, 10), Outcome(2.0, None, 30), Outcome(3.0, 0.4, 20), Outcome(0.1, None, 0, "HTTP 500")]
    row = serve.summarise("toolwire", 2, outcomes, wall_s=4.0, peak_rss_mb=500.0)
    assert (row.requests, row.errors, row.first_error) == (4, 1, "HTTP 500")
    assert row.tokens_per_s == 15.0 and row.requests_per_s == 0.75
    assert (row.latency_p50_s, row.latency_p95_s, row.ttft_p50_s) == (2.0, 3.0, 0.2)  # nearest rank


def _row(server: str, clients: int, tokens_per_s: float, p95: float) -> Row:
    return Row(server, clients, 4, 0, tokens_per_s, 1.0, 0.1, 1.0, p95, 400.0)


def test_the_table_gives_ratios_to_one_client_and_to_llama_server() -> None:
    text = serve.table([_row("toolwire", 1, 20.0, 2.0), _row("toolwire", 4, 60.0, 4.0),
                        _row("llama-server", 1, 25.0, 1.5), _row("llama-server", 4, 75.0, 3.0)])
    toolwire_4 = next(line for line in text.splitlines() if line.startswith("| toolwire | 4 |"))
    assert toolwire_4.endswith("| 3.00x | 2.00x | 0.80x | 1.33x |")
    peer_4 = next(line for line in text.splitlines() if line.startswith("| llama-server | 4 |"))
    assert peer_4.endswith("| 3.00x | 2.00x | – | – |")


def test_no_result_is_nan_free_when_no_request_streamed() -> None:
    row = serve.summarise("toolwire", 1, [Outcome(1.0, None, 5)], wall_s=1.0, peak_rss_mb=1.0)
    assert math.isnan(row.ttft_p50_s) and row.tokens_per_s == 5.0


@pytest.mark.model
@pytest.mark.slow
def test_smollm2_beside_llama_server(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from toolwire.engine.build import llama_server_path

    peer = llama_server_path()
    if peer is None:
        pytest.skip("llama-server is not built: run `toolwire build llama-server` (.ci/run does)")
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    output = tmp_path / "serve.md"
    args = parser.parse_args(["--model", "smollm2-135m", "--clients", "1,2", "--requests", "2", "--max-tokens", "12",
                              "--ctx", "2048", "--peer", str(peer), "--output", str(output)])
    assert serve.main(args) == 0
    rows = [line for line in output.read_text().splitlines() if line.startswith(("| toolwire |", "| llama-server |"))]
    assert [line.split(" | ")[0:2] for line in rows] == [["| toolwire", "1"], ["| toolwire", "2"],
                                                         ["| llama-server", "1"], ["| llama-server", "2"]]
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[3] == "0", line  # no errors
        assert float(cells[4]) > 0, line  # tokens/s
    assert "toolwire bench serve --model smollm2-135m" in output.read_text()
