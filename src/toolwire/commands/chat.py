"""`toolwire chat`: talk to a model that can run your Python functions and MCP servers' tools.

    toolwire chat --tools examples/todo.py:toolkit --model smollm2-135m
    toolwire chat --mcp "python examples/mcp_server.py" --model smollm2-135m
    toolwire chat --tools mypackage.tools:toolkit --base-url http://127.0.0.1:8000/v1

`--tools` names `module:attribute` (a module path or a .py file; the attribute a Toolkit, a
function, or a list of them; `toolkit` when omitted). `--mcp` names an MCP server: a command
run over stdio, or an http(s):// URL; it runs for the whole session. Each call and its
result is shown as it happens; `--confirm` asks before every call. `/exit` or end of input
quits.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.text import Text

from toolwire.agent.backends import Backend, resolve_backend
from toolwire.agent.loop import arun
from toolwire.agent.mcp_tools import mcp
from toolwire.agent.registry import Toolkit, as_toolkit, open_tools
from toolwire.errors import RequestError

__all__ = ["interact", "load_tools", "register"]

_QUIT = {"/exit", "/quit", "exit", "quit"}


def _module(spec: str) -> Any:
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise RequestError(f"--tools: no file {spec!r}", param="tools")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module  # pydantic and dataclasses look their module up
        module_spec.loader.exec_module(module)
        return module
    if "" not in sys.path:
        sys.path.insert(0, "")  # modules in the current directory, like `python -m`
    try:
        return importlib.import_module(spec)
    except ImportError as error:
        raise RequestError(f"--tools: cannot import {spec!r} ({error})", param="tools") from None


def load_tools(specs: list[str]) -> Toolkit:
    """One toolkit from `module:attribute` specs (attribute defaults to `toolkit`)."""
    found: list[Any] = []
    for spec in specs:
        module_name, colon, attribute = spec.rpartition(":")
        if not colon:
            module_name, attribute = spec, "toolkit"
        module = _module(module_name)
        if not hasattr(module, attribute):
            raise RequestError(f"--tools: {module_name!r} has no attribute {attribute!r}", param="tools")
        value = getattr(module, attribute)
        found.extend(value if isinstance(value, (list, tuple)) else [value])
    return as_toolkit(found)


def _is_error(content: str) -> bool:
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and list(value) == ["error"]


def _show(console: Console) -> Callable[[dict[str, Any]], None]:
    def show(message: dict[str, Any]) -> None:
        if message["role"] == "tool":
            style = "red" if _is_error(message["content"] or "") else "green"
            console.print(Text("  ← ", style=style) + Text(f"{message['name']}: {message['content']}", style=style))
            return
        for call in message.get("tool_calls") or []:
            function = call["function"]
            console.print(Text("  → ", style="cyan") + Text(f"{function['name']}({function['arguments']})", style="cyan"))
        if message.get("content"):
            console.print(Text("model ", style="bold magenta") + Text(message["content"]))

    return show


async def interact(
    backend: Backend,
    toolkit: Toolkit,
    console: Console,
    read: Callable[[str], str],
    *,
    system: str | None = None,
    confirm: bool = False,
    max_steps: int = 8,
    **chat_options: Any,
) -> list[dict[str, Any]]:
    """The chat session: read a line, let the model work, show calls, results and answers;
    returns the transcript when input ends or the user types `/exit`. `read(prompt)`
    returns one line of input (also the answer to `confirm`'s question)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []

    def ask(call: dict[str, Any]) -> bool:
        function = call["function"]
        answer = read(f"  run {function['name']}({function['arguments']})? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    while True:
        try:
            line = read("you ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if line in _QUIT:
            break
        if not line:
            continue
        messages.append({"role": "user", "content": line})
        result = await arun(
            messages, tools=toolkit, model=backend, max_steps=max_steps, confirm=ask if confirm else None,
            on_message=_show(console), **chat_options,
        )
        messages = result.messages
        if result.answer is None:
            console.print(Text(f"  (stopped after {max_steps} steps without an answer)", style="yellow"))
    return messages


def _handle(args: argparse.Namespace) -> int:
    import asyncio

    if not args.tools and not args.mcp:
        raise RequestError("chat: give tools with --tools MODULE:ATTR and/or --mcp CMD_OR_URL", param="tools")
    console = Console()
    toolkit = load_tools(args.tools or [])
    servers = [mcp(server, timeout=args.mcp_timeout) for server in args.mcp or []]
    if args.base_url:
        backend = resolve_backend(model=args.model, base_url=args.base_url)
    else:
        from toolwire.agent.backends import load_model

        with console.status(f"loading {args.model or 'the default model'}"):
            backend = resolve_backend(model=load_model(args.model))
    options: dict[str, Any] = {}
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.max_tokens is not None:
        options["max_tokens"] = args.max_tokens
    if args.tool_choice is not None:
        options["tool_choice"] = args.tool_choice

    def read(prompt: str) -> str:
        return console.input(Text(prompt, style="bold green" if prompt == "you " else "yellow"))

    async def session() -> None:
        async with contextlib.AsyncExitStack() as stack:
            with console.status("starting MCP servers") if servers else contextlib.nullcontext():
                tools = await stack.enter_async_context(open_tools([toolkit, *servers]))
            console.print(Text(f"tools: {', '.join(tools.names) or 'none'}   (/exit to quit)", style="dim"))
            await interact(backend, tools, console, read, system=args.system, confirm=args.confirm,
                           max_steps=args.max_steps, **options)

    asyncio.run(session())
    return 0


def register(subparsers: Any) -> None:
    """Add `toolwire chat`."""
    parser = subparsers.add_parser(
        "chat", help="chat with a model that can call your Python functions",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--tools", action="append", metavar="MODULE:ATTR",
                        help="a Toolkit, function or list of them, e.g. examples/todo.py:toolkit (repeatable)")
    parser.add_argument("--mcp", action="append", metavar="CMD_OR_URL",
                        help='an MCP server: a command run over stdio, e.g. "python examples/mcp_server.py", '
                             "or an http(s):// URL (repeatable)")
    parser.add_argument("--mcp-timeout", type=float, default=30.0, help="seconds per MCP request (default 30)")
    parser.add_argument("--model", default=None, help="model name or .gguf path; with --base-url, the served model's name")
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--system", default=None, help="a system prompt")
    parser.add_argument("--confirm", action="store_true", help="ask before running each call")
    parser.add_argument("--max-steps", type=int, default=8, help="model turns per message (default 8)")
    parser.add_argument("--tool-choice", choices=("auto", "required", "none"), default=None,
                        help="tool_choice for the first model turn of each message (later turns: auto)")
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.set_defaults(handler=_handle)
