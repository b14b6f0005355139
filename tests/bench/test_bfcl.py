"""The BFCL runner: requests, scoring per entry, the command; one real SmolLM2 run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("bfcl_eval", reason="install with `pip install --no-deps bfcl-eval`")

from toolwire.bench import bfcl  # noqa: E402
from toolwire.bench.bfcl_data import load_category  # noqa: E402
from toolwire.errors import ToolwireError  # noqa: E402


def _completion(calls: list[tuple[str, str]], content: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate(calls)
        ]
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class ScriptedClient:
    """Answers by entry id and mode; records what it was sent."""

    def __init__(self, answers: dict[tuple[str, bool], dict[str, Any]]) -> None:
        self.answers = answers
        self.sent: list[dict[str, Any]] = []

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                 policies: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        constrained = policies["constrained"]
        self.sent.append({"messages": messages, "tools": tools, "constrained": constrained, "max_tokens": max_tokens,
                          "policies": policies})
        key = (messages[0]["content"], constrained)
        if key not in self.answers:
            raise RuntimeError("no scripted answer")
        return self.answers[key]


FACTORIAL = load_category("simple_python")[1]  # math.factorial(number=5)
IRRELEVANT = load_category("irrelevance")[0]


def test_run_entry_scores_and_validates_calls() -> None:
    question = FACTORIAL.messages[0]["content"]
    client = ScriptedClient({
        (question, True): _completion([("math.factorial", '{"number": 5}')]),
        (question, False): _completion([("math.factorial", '{"number": "five"}'), ("nope", "{}")]),
    })
    good = bfcl.run_entry(client, FACTORIAL, "constrained", max_tokens=64)
    assert (good.passed, good.error, good.valid_calls) == (True, None, 1)
    assert (good.prompt_tokens, good.completion_tokens) == (100, 20) and good.latency_s > 0
    assert client.sent[0]["constrained"] is True and client.sent[0]["max_tokens"] == 64
    assert client.sent[0]["tools"][0]["function"]["parameters"]["type"] == "object"
    bad = bfcl.run_entry(client, FACTORIAL, "unconstrained")
    assert bad.passed is False and bad.valid_calls == 0 and len(bad.calls) == 2
    assert client.sent[1]["constrained"] is False


def test_run_entry_records_a_failed_request() -> None:
    result = bfcl.run_entry(ScriptedClient({}), FACTORIAL, "constrained")
    assert result.passed is False and result.error.startswith("request:RuntimeError")


def test_run_entry_irrelevance() -> None:
    question = IRRELEVANT.messages[0]["content"]
    name = IRRELEVANT.functions[0]["name"]
    client = ScriptedClient({
        (question, True): _completion([], content="I can't help with that."),
        (question, False): _completion([(name, "{}")]),
    })
    assert bfcl.run_entry(client, IRRELEVANT, "constrained").passed is True
    assert bfcl.run_entry(client, IRRELEVANT, "unconstrained").passed is False


def _args(tmp_path: Path, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bfcl.add_arguments(parser)
    return parser.parse_args([*argv, "--output-dir", str(tmp_path), "--no-progress"])


def test_main_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    question = FACTORIAL.messages[0]["content"]
    client = ScriptedClient({(question, True): _completion([("math.factorial", '{"number": 5}')])})
    monkeypatch.setattr(bfcl, "InProcessClient", lambda model: client)
    monkeypatch.setattr(bfcl, "sample", lambda entries, limit: [e for e in entries if e.id == FACTORIAL.id])
    args = _args(tmp_path, "--categories", "simple_python", "--modes", "constrained,unconstrained", "--limit", "1")
    assert bfcl.main(args) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["command"] == (
        "toolwire bench bfcl --model qwen2.5-coder-0.5b --categories simple_python "
        "--modes constrained,unconstrained --limit 1"
    )
    assert [(s["mode"], s["accuracy"]) for s in document["scores"]] == [
        ("constrained", 1.0), ("unconstrained", 0.0), ("unconstrained-lenient", 0.0)]
    assert (tmp_path / "results.png").exists() and "| simple_python | constrained | 1 | 100.0 |" in (tmp_path / "results.md").read_text()
    assert "| simple_python | constrained | 1 | 100.0 |" in capsys.readouterr().out


def test_each_entry_is_asked_in_every_mode_before_the_next_entry() -> None:
    first, second = load_category("simple_python")[1:3]
    client = ScriptedClient({(entry.messages[0]["content"], constrained): _completion([])
                             for entry in (first, second) for constrained in (True, False)})
    bfcl.run(client, [first, second], ["constrained", "unconstrained"], progress=False)
    assert [(sent["messages"][0]["content"], sent["constrained"]) for sent in client.sent] == [
        (first.messages[0]["content"], True), (first.messages[0]["content"], False),
        (second.messages[0]["content"], True), (second.messages[0]["content"], False)]


def test_an_interrupted_run_resumes_from_its_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = load_category("simple_python")[1:3]
    answers = {(entry.messages[0]["content"], True): _completion([]) for entry in (first, second)}
    monkeypatch.setattr(bfcl, "sample", lambda entries, limit: [first, second])
    argv = ("--categories", "simple_python", "--modes", "constrained", "--limit", "2")
    interrupted = ScriptedClient({key: value for key, value in answers.items() if key[0] == first.messages[0]["content"]})

    def stop_at_second(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if len(interrupted.sent) == 1:
            raise KeyboardInterrupt
        return ScriptedClient.complete(interrupted, *args, **kwargs)

    monkeypatch.setattr(interrupted, "complete", stop_at_second, raising=False)
    monkeypatch.setattr(bfcl, "InProcessClient", lambda model: interrupted)
    with pytest.raises(KeyboardInterrupt):
        bfcl.main(_args(tmp_path, *argv))
    assert len((tmp_path / bfcl.JOURNAL).read_text().splitlines()) == 2  # the command, then one answer

    resumed = ScriptedClient(answers)
    monkeypatch.setattr(bfcl, "InProcessClient", lambda model: resumed)
    assert bfcl.main(_args(tmp_path, *argv, "--resume")) == 0
    assert [sent["messages"][0]["content"] for sent in resumed.sent] == [second.messages[0]["content"]]
    document = json.loads((tmp_path / "results.json").read_text())
    assert [entry["id"] for entry in document["entries"]] == [first.id, second.id]
    assert document["resumed_results"] == 1

    with pytest.raises(ToolwireError, match="another command"):
        bfcl.main(_args(tmp_path, "--categories", "simple_python", "--modes", "unconstrained", "--resume"))


@pytest.mark.parametrize(("option", "value"), [("--categories", "simple,multiple"), ("--modes", "greedy")])
def test_main_rejects_unknown_names(tmp_path: Path, option: str, value: str) -> None:
    with pytest.raises(ToolwireError, match="unknown"):
        bfcl.main(_args(tmp_path, option, value))


def test_cli_has_bench_bfcl() -> None:
    from toolwire.commands import bench

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "bfcl", "--limit", "3", "--base-url", "http://localhost:8000/v1"])
    assert (args.bench_command, args.limit, args.base_url, args.modes) == ("bfcl", 3, "http://localhost:8000/v1", "constrained,unconstrained")
    assert callable(args.handler)


@pytest.mark.model
@pytest.mark.slow
def test_smollm2_end_to_end(tmp_path: Path) -> None:
    args = _args(tmp_path, "--model", "smollm2-135m", "--categories", "simple_python", "--limit", "2", "--max-tokens", "64")
    assert bfcl.main(args) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert [(s["category"], s["mode"], s["n"]) for s in document["scores"]] == [
        ("simple_python", "constrained", 2), ("simple_python", "unconstrained", 2),
        ("simple_python", "unconstrained-lenient", 2)]
    entries = document["entries"]
    assert all(not (e["error"] or "").startswith("request:") for e in entries), entries
    constrained = [e for e in entries if e["mode"] == "constrained"]
    # the grammar forces schema-valid arguments whenever a call is made
    assert all(e["valid_calls"] == len(e["calls"]) for e in constrained)
    assert all(e["completion_tokens"] > 0 for e in entries)


def test_lenient_reading_finds_fenced_and_bare_calls() -> None:
    content = 'Sure:\n```json\n{"name": "math.factorial", "arguments": {"number": 5}}\n```\nand {"name": "other", "arguments": {}} {"name": "math.factorial", "parameters": {"number": 7}}'
    assert bfcl.lenient_calls(content, ["math.factorial"]) == [
        ("math.factorial", '{"number": 5}'), ("math.factorial", '{"number": 7}')]
    assert bfcl.lenient_calls("no json here {", ["f"]) == []


def test_a_mode_carries_its_policy_settings() -> None:
    assert bfcl.mode_policies("unconstrained") == {"constrained": False}
    assert bfcl.mode_policies("constrained+parallel_calls=grounded+call_confidence=0.2") == {
        "constrained": True, "parallel_calls": "grounded", "call_confidence": 0.2}
    client = ScriptedClient({(FACTORIAL.messages[0]["content"], True): _completion([])})
    bfcl.run_entry(client, FACTORIAL, "constrained+call_syntax=probe")
    assert client.sent[0]["policies"] == {"constrained": True, "call_syntax": "probe"}


@pytest.mark.parametrize("mode", ["constrained+parallel_calls=sometimes", "constrained+speed", "greedy"])
def test_a_bad_mode_is_refused_before_the_run(mode) -> None:
    with pytest.raises(ToolwireError):
        bfcl.mode_policies(mode)
