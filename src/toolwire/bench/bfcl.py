"""`toolwire bench bfcl`: BFCL AST accuracy of a model, constrained vs unconstrained.

Each sampled entry of each category is sent once per mode as an OpenAI chat request (the
question's messages, its functions as tools, `tool_choice="auto"`, greedy), either to a
model loaded in-process (`toolwire.load`) or to any OpenAI-compatible server
(`--base-url`; the mode travels as the extra body object `toolwire`, which other
servers ignore). The returned calls are scored by BFCL's own AST checker
(`bfcl_data.check`); irrelevance passes when no call is made. Besides accuracy it reports
the share of returned calls whose arguments validate against their tool's schema, mean
latency and completion tokens per second of wall time.

`--limit N` takes N entries per category evenly spaced over the file (`bfcl_data.sample`).

A mode is `unconstrained`, `constrained` (toolwire's default policies), or `constrained`
with policy settings joined by `+`: `constrained+parallel_calls=grounded+call_syntax=probe`
is the first version's behaviour. Each mode is its own row.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from toolwire.bench.bfcl_convert import checker_calls, to_tools
from toolwire.bench.bfcl_data import CATEGORIES, Entry, check, load_category, sample
from toolwire.bench.bfcl_report import EntryResult, markdown_table, score, write_chart, write_json, write_markdown
from toolwire.errors import ToolwireError

__all__ = [
    "LENIENT",
    "MODES",
    "Client",
    "InProcessClient",
    "RemoteClient",
    "add_arguments",
    "lenient_calls",
    "lenient_result",
    "main",
    "run",
    "run_entry",
]

MODES = ("constrained", "unconstrained")
DEFAULT_MODEL = "qwen2.5-coder-0.5b"
DEFAULT_MAX_TOKENS = 384
"""Enough for four parallel calls; bounds a turn that never ends (FINDINGS 2)."""


class Client(Protocol):
    """Sends one chat request with toolwire's `policies` and returns the OpenAI
    `chat.completion` dict."""

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                 policies: dict[str, Any], max_tokens: int) -> dict[str, Any]: ...


def mode_policies(mode: str) -> dict[str, Any]:
    """The `toolwire` policy settings of a mode (see the module docstring)."""
    head, *settings = mode.split("+")
    if head not in MODES:
        raise ToolwireError(f"--modes: unknown mode {mode!r}; a mode starts with one of {', '.join(MODES)}")
    policies: dict[str, Any] = {"constrained": head == "constrained"}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if not equals:
            raise ToolwireError(f"--modes: {setting!r} in {mode!r} is not key=value")
        policies[key] = _setting_value(value)
    from toolwire.chat.policies import parse_policies

    parse_policies(policies, field=f"--modes {mode}")  # a bad setting fails before the run
    return policies


def _setting_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class InProcessClient:
    """A model loaded with `toolwire.load`."""

    def __init__(self, model: str) -> None:
        import toolwire.chat

        self.model = toolwire.chat.load(model)

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                 policies: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        result = self.model.chat(messages, tools=tools, tool_choice="auto", parallel_tool_calls=True,
                                 policies=policies, temperature=0.0, max_tokens=max_tokens)
        return result  # type: ignore[return-value]


class RemoteClient:
    """Any OpenAI-compatible server, through the `openai` client."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None) -> None:
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed")
        self.model = model

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                 policies: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        response = self.client.chat.completions.create(
            model=self.model, messages=messages, tools=tools, tool_choice="auto",  # type: ignore[arg-type]
            temperature=0.0, max_tokens=max_tokens, extra_body={"toolwire": policies},
        )
        return response.model_dump()


@dataclass(frozen=True)
class _Reply:
    calls: list[tuple[str, str]]
    content: str | None
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None


def _reply(completion: dict[str, Any]) -> _Reply:
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    calls = [
        (call["function"]["name"], call["function"].get("arguments") or "{}")
        for call in message.get("tool_calls") or []
    ]
    usage = completion.get("usage") or {}
    return _Reply(
        calls=calls,
        content=message.get("content"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=choice.get("finish_reason"),
    )


def _is_valid(name: str, arguments: str, schema: dict[str, Any] | None) -> bool:
    """The call names a tool and its arguments are a JSON object its schema accepts."""
    from toolwire.schema.jsonschema import validate_arguments  # pydantic-heavy: load on use

    if schema is None:
        return False
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and not validate_arguments(value, schema)


def run_entry(client: Client, entry: Entry, mode: str, *, sanitize: bool = False,
              max_tokens: int = DEFAULT_MAX_TOKENS) -> EntryResult:
    """Ask one entry in one mode and score the answer. A failed request scores as a
    failure with error `request:<ExceptionName>`, so one bad entry does not stop a run."""
    toolset = to_tools(entry.functions, sanitize=sanitize)
    started = time.perf_counter()
    try:
        completion = client.complete(entry.messages, toolset.tools, policies=mode_policies(mode),
                                     max_tokens=max_tokens)
    except Exception as exc:  # noqa: BLE001 - recorded per entry, reported in the table
        return EntryResult(id=entry.id, category=entry.category, mode=mode, passed=False,
                           error=f"request:{type(exc).__name__}: {exc}"[:300],
                           latency_s=time.perf_counter() - started)
    latency = time.perf_counter() - started
    reply = _reply(completion)
    passed, error = check(entry, checker_calls(reply.calls, toolset))
    return EntryResult(
        id=entry.id,
        category=entry.category,
        mode=mode,
        passed=passed,
        error=error,
        calls=[{"name": name, "arguments": arguments} for name, arguments in reply.calls],
        valid_calls=sum(_is_valid(name, args, toolset.schema(name)) for name, args in reply.calls),
        content=reply.content,
        latency_s=latency,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        finish_reason=reply.finish_reason,
    )


LENIENT = "unconstrained-lenient"
"""Not a separate generation: the unconstrained answers, read the way a forgiving client
could (a ```json fence or bare JSON object naming a tool counts as a call). It shows what
the model knows without constraints, where the strict `unconstrained` row shows what a
client following the format gets (FINDINGS.md #1)."""


def lenient_calls(content: str | None, tool_names: Sequence[str]) -> list[tuple[str, str]]:
    """Calls found anywhere in free text: JSON objects `{"name": <a tool>, "arguments" or
    "parameters": {...}}`, fenced or bare, in order."""
    decoder = json.JSONDecoder()
    calls: list[tuple[str, str]] = []
    text = content or ""
    index = text.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict) and value.get("name") in tool_names:
            arguments = value.get("arguments", value.get("parameters", {}))
            if isinstance(arguments, dict):
                calls.append((value["name"], json.dumps(arguments, ensure_ascii=False)))
        index = text.find("{", end)
    return calls


def lenient_result(entry: Entry, strict: EntryResult, *, sanitize: bool = False) -> EntryResult:
    """The `unconstrained-lenient` score of an `unconstrained` answer."""
    toolset = to_tools(entry.functions, sanitize=sanitize)
    calls = [(c["name"], c["arguments"]) for c in strict.calls] or lenient_calls(
        strict.content, [tool["function"]["name"] for tool in toolset.tools])
    passed, error = check(entry, checker_calls(calls, toolset))
    return EntryResult(
        id=entry.id, category=entry.category, mode=LENIENT, passed=passed, error=error,
        calls=[{"name": name, "arguments": arguments} for name, arguments in calls],
        valid_calls=sum(_is_valid(name, args, toolset.schema(name)) for name, args in calls),
        content=strict.content, latency_s=strict.latency_s, prompt_tokens=strict.prompt_tokens,
        completion_tokens=strict.completion_tokens, finish_reason=strict.finish_reason,
    )


def run(client: Client, entries: Sequence[Entry], modes: Sequence[str], *, sanitize: bool = False,
        max_tokens: int = DEFAULT_MAX_TOKENS, progress: bool = True, done: Sequence[EntryResult] = (),
        on_result: Callable[[EntryResult], None] | None = None) -> list[EntryResult]:
    """Every entry in every mode, with a progress bar. Entry by entry, each in every mode
    in turn: the modes share the entry's cached prompt prefix and meet the same machine
    load. Results in `done` (a resumed run's) are kept, not asked again; `on_result` sees
    each new one as it comes. Unconstrained answers are also scored as
    `unconstrained-lenient`."""
    from tqdm import tqdm

    finished = {(result.id, result.mode): result for result in done}
    jobs: list[tuple[str, Entry]] = [(mode, entry) for entry in entries for mode in modes]
    bar = tqdm(jobs, desc="bfcl", unit="q", disable=not progress, dynamic_ncols=True)
    results = []
    for mode, entry in bar:
        result = finished.get((entry.id, mode))
        if result is None:
            bar.set_postfix_str(f"{mode} {entry.id}", refresh=False)
            result = run_entry(client, entry, mode, sanitize=sanitize, max_tokens=max_tokens)
            if on_result is not None:
                on_result(result)
        results.append(result)
    results += [lenient_result(entry, result, sanitize=sanitize)
                for (mode, entry), result in zip(jobs, results) if mode == "unconstrained"]
    return results


JOURNAL = "entries.jsonl"
"""Written as the run goes: the command on the first line, then one result per line, so an
interrupted run can be resumed (`--resume`) and a long run watched."""


def _open_journal(path: Path, command: str, resume: bool) -> tuple[list[EntryResult], Any]:
    """The results an earlier run of `command` left in the journal (when resuming) and the
    journal opened for appending."""
    done: list[EntryResult] = []
    if resume and path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        if header.get("command") != command:
            raise ToolwireError(f"--resume: {path} is from another command ({header.get('command')!r}); "
                                f"this one is {command!r}")
        done = [EntryResult(**json.loads(line)) for line in lines[1:] if line.strip()]
        return done, path.open("a", encoding="utf-8")
    journal = path.open("w", encoding="utf-8")
    journal.write(json.dumps({"command": command}) + "\n")
    return done, journal


def _names(text: str, allowed: Sequence[str], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise ToolwireError(f"--{what}: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(allowed)}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `toolwire bench bfcl`."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"packaged model name or .gguf path; with --base-url, the served model name (default {DEFAULT_MODEL})")
    parser.add_argument("--categories", default=",".join(CATEGORIES), help="comma-separated BFCL categories (default: all five)")
    parser.add_argument("--limit", type=int, default=None,
                        help="entries per category, evenly spaced over the file (default: all)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated: constrained, unconstrained, or constrained with policy settings "
                             "joined by '+' (constrained+parallel_calls=grounded+call_syntax=probe); one row each")
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible server instead of loading the model")
    parser.add_argument("--api-key", default=None, help="API key for --base-url")
    parser.add_argument("--sanitize-names", action="store_true",
                        help="send math.factorial as math_factorial (for servers enforcing OpenAI's name pattern)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help=f"per request (default {DEFAULT_MAX_TOKENS})")
    parser.add_argument("--output-dir", type=Path, default=Path("out/bfcl"), help="where results go (default out/bfcl)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--resume", action="store_true",
                        help=f"keep the answers already in --output-dir's {JOURNAL} (from an interrupted run of the "
                             "same command) and ask only the rest")


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run."""
    parts = ["toolwire", "bench", "bfcl", "--model", args.model, "--categories", args.categories, "--modes", args.modes]
    if args.limit is not None:
        parts += ["--limit", str(args.limit)]
    if args.base_url:
        parts += ["--base-url", args.base_url]
    if args.sanitize_names:
        parts.append("--sanitize-names")
    if args.max_tokens != DEFAULT_MAX_TOKENS:
        parts += ["--max-tokens", str(args.max_tokens)]
    return shlex.join(parts)


def _meta(args: argparse.Namespace, categories: Sequence[str], modes: Sequence[str]) -> dict[str, Any]:
    try:
        bfcl_version = metadata.version("bfcl-eval")
    except metadata.PackageNotFoundError:
        bfcl_version = None
    return {
        "command": command_line(args),
        "model": args.model,
        "base_url": args.base_url,
        "categories": list(categories),
        "modes": list(modes),
        "limit": args.limit,
        "sampling": "evenly spaced: entry i * len // limit for i < limit",
        "max_tokens": args.max_tokens,
        "bfcl_eval_version": bfcl_version,
        "toolwire_version": metadata.version("toolwire"),
        "machine": platform.platform(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main(args: argparse.Namespace) -> int:
    """Run the benchmark; write results.json, results.md and results.png to --output-dir."""
    categories = _names(args.categories, CATEGORIES, "categories")
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    for mode in modes:
        mode_policies(mode)
    entries = [entry for category in categories for entry in sample(load_category(category), args.limit)]
    out: Path = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    done, journal = _open_journal(out / JOURNAL, command_line(args), args.resume)
    started = time.perf_counter()
    client: Client = (
        RemoteClient(args.base_url, args.model, args.api_key) if args.base_url else InProcessClient(args.model)
    )

    def record(result: EntryResult) -> None:
        journal.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
        journal.flush()

    with journal:
        results = run(client, entries, modes, sanitize=args.sanitize_names, max_tokens=args.max_tokens,
                      progress=not args.no_progress, done=done, on_result=record)
    scores = score(results)
    title = f"BFCL AST accuracy: {args.model}"
    meta = _meta(args, categories, modes)
    meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    meta["resumed_results"] = len(done)
    meta["request_time_s"] = round(sum(r.latency_s for r in results if r.mode != LENIENT), 1)
    write_json(out / "results.json", meta, scores, results)
    write_markdown(out / "results.md", title, meta["command"], scores, elapsed_s=meta["request_time_s"])
    write_chart(out / "results.png", title, scores)
    print(markdown_table(scores), end="")
    print(f"{len(entries)} entries x {len(modes)} modes: {meta['request_time_s'] / 60:.1f} minutes of requests "
          f"({len(done)} answers resumed; this run {meta['elapsed_s'] / 60:.1f} minutes)")
    print(f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'results.png'}")
    return 0
