"""toolwire.commands.chat: loading tools from specs, the interactive session, the parser."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from rich.console import Console

from tests.agent.scripted import ScriptedBackend, call, calls, text
from toolwire.commands.chat import interact, load_tools, register
from toolwire.errors import RequestError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_load_tools_from_files_and_modules() -> None:
    assert load_tools([f"{EXAMPLES / 'todo.py'}"]).names == ["todo.addTodo", "todo.removeTodo", "todo.getTodos"]
    merged = load_tools([f"{EXAMPLES / 'calculator.py'}:tools", "tests.agent.test_registry:add_item"])
    assert merged.names == ["add", "subtract", "multiply", "divide", "sqrt", "add_item"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("no_such_module_xyz:toolkit", "cannot import"), ("missing/file.py:toolkit", "no file"),
     ("tests.agent.test_registry:nothing", "has no attribute 'nothing'")],
)
def test_load_tools_errors(spec: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        load_tools([spec])


def session(backend: ScriptedBackend, lines: list[str], **options: Any) -> tuple[list[dict[str, Any]], str, Any]:
    toolkit = load_tools([f"{EXAMPLES / 'todo.py'}:toolkit"])
    todos = toolkit.get("todo.addTodo").func.__globals__["TODOS"]
    todos.clear()
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    feed: Iterator[str] = iter(lines)
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return next(feed)  # StopIteration would be a test bug; EOF is simulated below

    def read_or_eof(prompt: str) -> str:
        try:
            return read(prompt)
        except StopIteration:
            raise EOFError from None

    transcript = asyncio.run(interact(backend, toolkit, console, read_or_eof, **options))
    return transcript, out.getvalue(), (todos, prompts)


def test_session_shows_calls_results_and_answers() -> None:
    backend = ScriptedBackend(calls(call("todo.addTodo", {"todo": "milk"}, "c1")), text("Added milk."), text("Bye!"))
    transcript, shown, (todos, _) = session(backend, ["Add milk to my todo list", "", "thanks", "/exit", "never read"],
                                            system="Be brief.")
    assert todos == ["milk"]
    assert '→ todo.addTodo({"todo": "milk"})' in shown
    assert '← todo.addTodo: {"status": "OK"}' in shown
    assert "model Added milk." in shown and "model Bye!" in shown
    assert [m["role"] for m in transcript] == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert backend.requests[-1].messages[:5] == transcript[:5]  # the conversation carries over


def test_session_confirm_declines_and_ends_at_eof() -> None:
    backend = ScriptedBackend(calls(call("todo.addTodo", {"todo": "milk"}, "c1")), text("Not added."))
    transcript, shown, (todos, prompts) = session(backend, ["Add milk", "n"], confirm=True)
    assert todos == []
    assert prompts[1] == '  run todo.addTodo({"todo": "milk"})? [y/N] '
    assert '← todo.addTodo: {"error": "declined by user"}' in shown
    assert transcript[-1] == {"role": "assistant", "content": "Not added."}


def test_parser() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["chat", "--tools", "a:b", "--tools", "c", "--base-url", "http://x/v1", "--confirm", "--max-steps", "3", "--tool-choice", "required"])
    assert (args.tools, args.base_url, args.confirm, args.max_steps, args.model, args.tool_choice) == (
        ["a:b", "c"], "http://x/v1", True, 3, None, "required")
    assert callable(args.handler)
    mcp_args = parser.parse_args(["chat", "--mcp", "python server.py", "--mcp", "http://x/mcp", "--mcp-timeout", "5"])
    assert (mcp_args.tools, mcp_args.mcp, mcp_args.mcp_timeout) == (None, ["python server.py", "http://x/mcp"], 5.0)
    with pytest.raises(RequestError, match="give tools"):
        args.handler(parser.parse_args(["chat"]))


@pytest.mark.model
@pytest.mark.timeout(300)
def test_chat_with_an_mcp_server_end_to_end() -> None:
    """`toolwire chat --mcp` in a subprocess: SmolLM2 calls the example server's tool and
    the server's answer is shown; the server is stopped when the chat ends."""
    server = f"{shlex.quote(sys.executable)} {shlex.quote(str(EXAMPLES / 'mcp_server.py'))}"
    command = [sys.executable, "-m", "toolwire.cli", "chat", "--mcp", server, "--model", "smollm2-135m",
               "--tool-choice", "required", "--max-steps", "2", "--max-tokens", "48"]
    done = subprocess.run(command, input="Convert 10 km to miles\n/exit\n", capture_output=True, text=True, timeout=280,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "convert_length" in done.stdout and "crash" in done.stdout  # the listed tools
    calls = [line for line in done.stdout.splitlines() if "→ " in line]
    results = [line for line in done.stdout.splitlines() if "← " in line]
    assert calls and results, done.stdout
    assert results[0].split("← ", 1)[1].startswith(calls[0].split("→ ", 1)[1].split("(", 1)[0] + ": ")
