"""The gateway checks against a real vLLM (or any upstream), in one command.

On a GPU machine, start vLLM (its default xgrammar backend; toolwire sends structural tags):

    vllm serve Qwen/Qwen2.5-7B-Instruct --host 127.0.0.1 --port 8000

or with the guidance backend (toolwire sends llguidance Lark; add `--upstream-grammar lark`):

    vllm serve Qwen/Qwen2.5-7B-Instruct --host 127.0.0.1 --port 8000 \\
        --structured-outputs-config.backend guidance

then, with toolwire installed (`pip install -e .`):

    python bench/vllm_gateway.py --upstream http://127.0.0.1:8000 --chat-template qwen2.5.jinja

The script starts `toolwire serve --upstream ...` on a free loopback port, runs the
tool-call cases (auto, required, named, parallel, parallel off, streaming, a tool result
turn) through it with the `openai` client, checks every call against its tool's schema,
prints one line per case with its time, and exits non-zero if any case failed. The same
script checks the other dialects: `--upstream-kind sglang|llama.cpp|toolwire`.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

import httpx
import jsonschema
import openai

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Current time in a timezone",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}}
TOOLS = [WEATHER, TIME]


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "additionalProperties": False}


SCHEMAS = {tool["function"]["name"]: _closed(tool["function"]["parameters"]) for tool in TOOLS}


def _valid_calls(calls: list[tuple[str, str]], names: set[str], at_least: int = 1) -> None:
    assert len(calls) >= at_least, f"expected at least {at_least} call(s), got {calls}"
    for name, arguments in calls:
        assert name in names, f"call of {name!r}, expected one of {sorted(names)}"
        jsonschema.validate(json.loads(arguments), SCHEMAS[name])


def _calls(answer: Any) -> list[tuple[str, str]]:
    return [(call.function.name, call.function.arguments) for call in answer.choices[0].message.tool_calls or []]


def case_required(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Weather in Paris?"}],
                                            tools=TOOLS, tool_choice="required", max_tokens=100)
    assert answer.choices[0].finish_reason == "tool_calls"
    _valid_calls(_calls(answer), {"get_weather", "get_time"})


def case_named(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "What's the weather in Paris?"}], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}}, max_tokens=100)
    _valid_calls(_calls(answer), {"get_time"})


def case_auto(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "What's the weather in Berlin, in celsius?"}], tools=TOOLS,
        max_tokens=100)
    calls = _calls(answer)
    if calls:
        _valid_calls(calls, {"get_weather", "get_time"})
    else:
        assert answer.choices[0].message.content, "neither calls nor text"


def case_parallel(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Weather in Paris? And the time in Asia/Tokyo?"}],
        tools=TOOLS, tool_choice="required", max_tokens=200)
    calls = _calls(answer)
    _valid_calls(calls, {"get_weather", "get_time"})
    ids = [call.id for call in answer.choices[0].message.tool_calls]
    assert len(set(ids)) == len(ids), "call ids repeat"


def case_parallel_off(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Weather in Paris and in Rome?"}], tools=[WEATHER],
        tool_choice="required", parallel_tool_calls=False, max_tokens=100)
    assert len(_calls(answer)) == 1, _calls(answer)


def case_streaming(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Weather in Paris? And the time in Asia/Tokyo?"}],
        tools=TOOLS, tool_choice="required", max_tokens=200, stream=True)
    calls: dict[int, list[str]] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        for part in chunk.choices[0].delta.tool_calls or []:
            if part.index not in calls:
                assert part.id and part.function and part.function.name, "a call starts with its id and name"
                calls[part.index] = [part.function.name, ""]
            calls[part.index][1] += (part.function.arguments or "") if part.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert sorted(calls) == list(range(len(calls)))
    _valid_calls([(name, arguments) for name, arguments in calls.values()], {"get_weather", "get_time"})


def case_tool_result(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"}]
    answer = client.chat.completions.create(model="m", messages=messages, tools=TOOLS, max_tokens=60)
    message = answer.choices[0].message
    assert message.content or message.tool_calls


CASES: dict[str, Callable[[openai.OpenAI], None]] = {
    "required": case_required, "named tool_choice": case_named, "auto": case_auto, "parallel": case_parallel,
    "parallel off": case_parallel_off, "streaming": case_streaming, "tool result turn": case_tool_result,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gateway(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str, str]:
    port = _free_port()
    command = [sys.executable, "-m", "toolwire.cli", "serve", "--upstream", args.upstream,
               "--upstream-kind", args.upstream_kind, "--port", str(port)]
    for flag, value in (("--upstream-grammar", args.upstream_grammar), ("--chat-template", args.chat_template),
                        ("--format", args.format), ("--upstream-model", args.upstream_model),
                        ("--upstream-api-key", args.upstream_api_key)):
        if value:
            command += [flag, value]
    log = tempfile.NamedTemporaryFile(prefix="toolwire-gateway-", suffix=".log", delete=False)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited:\n{open(log.name).read()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url, log.name
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the gateway did not come up")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="the engine server's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--upstream-kind", default="vllm", choices=("vllm", "sglang", "llama.cpp", "toolwire"))
    parser.add_argument("--upstream-grammar", default=None, choices=("structural-tag", "ebnf", "lark"))
    parser.add_argument("--chat-template", default=None, help="the served model's Jinja chat template file")
    parser.add_argument("--format", default=None, help="or a toolwire format name (hermes, mistral, ...)")
    parser.add_argument("--upstream-model", default=None)
    parser.add_argument("--upstream-api-key", default=None)
    parser.add_argument("--repeat", type=int, default=1, help="run every case this many times")
    args = parser.parse_args(argv)

    process, url, log = start_gateway(args)
    failures = 0
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300)
        print(f"gateway {url} -> {args.upstream_kind} at {args.upstream}")
        for name, case in CASES.items():
            for _ in range(args.repeat):
                started = time.perf_counter()
                try:
                    case(client)
                    outcome = "ok"
                except Exception as error:  # report every case, then fail the run
                    failures += 1
                    outcome = f"FAILED: {type(error).__name__}: {str(error)[:300]}"
                print(f"{name:<20} {time.perf_counter() - started:6.2f} s  {outcome}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=15)
    total = len(CASES) * args.repeat
    print(f"{total - failures} passed, {failures} failed")
    if failures:
        print(f"gateway log: {log}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
