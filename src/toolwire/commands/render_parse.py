"""`toolwire render` and `toolwire parse`: a format's prompt for a conversation, and a
model's raw output read back into an OpenAI assistant message.

    toolwire render --format chatml-functions --tools tools.json --messages conversation.json
    toolwire parse --format hermes --tools tools.json < output.txt

`tools.json` is an OpenAI tools list, or `{"tools": [...], "namespaces": {"todo": "..."}}`
(namespace descriptions, for formats that group tools into TypeScript namespaces).
`conversation.json` is an OpenAI messages list, or `{"messages": [...]}`. A file that is
missing, not JSON or of the wrong shape is a one-line error naming it (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from toolwire.errors import RequestError
from toolwire.formats.base import Format, RenderOptions
from toolwire.formats.registry import FORMAT_NAMES, get_format
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.types import Message, Tool, parse_messages, parse_tools

__all__ = ["register"]

JINJA = "jinja"
_TOOLS_KEYS = ("tools", "namespaces")


def register(subparsers: Any) -> None:
    """Add `render` and `parse` to the `toolwire` command line."""
    render = subparsers.add_parser(
        "render", help="print the prompt a format writes for a conversation",
        description="Print the prompt FORMAT writes for the messages in --messages with the tools in --tools, "
        "ending with the generation prompt unless --no-generation-prompt. The prompt is written exactly, "
        "with no newline added.",
    )
    _format_arguments(render)
    render.add_argument("--messages", required=True, type=Path, metavar="FILE",
                        help='OpenAI messages JSON: a list, or {"messages": [...]}')
    render.add_argument("--no-generation-prompt", action="store_true",
                        help="leave out the text that opens the assistant's turn")
    render.set_defaults(handler=_render)

    parse = subparsers.add_parser(
        "parse", help="read model output (stdin) into an OpenAI assistant message",
        description="Read a model's output after the generation prompt from stdin, exactly as given (UTF-8), "
        "and print the OpenAI assistant message FORMAT reads from it as one line of JSON (with `reasoning_content` "
        "when the model thought first); calls keep the ids the model wrote (Kimi-K2, Mistral v11), others get fresh ones. "
        "Formats that name positional arguments by the tool's schema need --tools.",
    )
    _format_arguments(parse)
    parse.set_defaults(handler=_parse)


def _format_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=(*FORMAT_NAMES, JINJA), help="wire format")
    parser.add_argument("--tools", type=Path, metavar="FILE",
                        help='OpenAI tools JSON: a list, or {"tools": [...], "namespaces": {"todo": "..."}}')
    parser.add_argument("--model-template", type=Path, metavar="PATH",
                        help="with --format jinja: a .gguf model whose chat template to use, or a .jinja template")


def _render(args: argparse.Namespace) -> int:
    fmt = _format(args)
    tools, namespaces = _read_tools(args.tools)
    messages = _read_messages(args.messages)
    options = RenderOptions(add_generation_prompt=not args.no_generation_prompt, namespaces=namespaces)
    sys.stdout.write(fmt.render(messages, tools, options))
    sys.stdout.flush()
    return 0


def _parse(args: argparse.Namespace) -> int:
    fmt = _format(args)
    tools, _ = _read_tools(args.tools)
    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"stdin: not UTF-8 text (byte {exc.start})") from None
    parsed = fmt.parse(text, tools=tools)
    reply = parsed.to_assistant([call.id or fmt.new_call_id() for call in parsed.calls])
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if parsed.reasoning:
        message["reasoning_content"] = parsed.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [call.model_dump() for call in reply.tool_calls]
    print(json.dumps(message, ensure_ascii=False))
    return 0


# --- inputs -----------------------------------------------------------------------------


def _format(args: argparse.Namespace) -> Format:
    """The format named by --format; `jinja` renders the template from --model-template."""
    template: Path | None = args.model_template
    if args.format != JINJA:
        if template is not None:
            raise ValueError("--model-template is only used with --format jinja")
        return get_format(args.format)
    if template is None:
        raise ValueError("--format jinja needs --model-template (a .gguf model or a .jinja template)")
    from toolwire.formats.choice import choose_format
    from toolwire.formats.jinja import JinjaFormat, detect_format

    if template.suffix == ".gguf":
        if not template.is_file():
            raise ValueError(f"{template}: no such file")
        return choose_format(template, JINJA)
    source = _read_text(template)
    # Like a GGUF template without tool syntax: render it, read output as `generic`.
    return JinjaFormat(source, parser=None if detect_format(source) else "generic")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def _in_file(path: Path, error: RequestError) -> ValueError:
    """A validation error, prefixed with the file it is about, on one line."""
    return ValueError(f"{path}: " + " ".join(error.message.split()))


def _read_tools(path: Path | None) -> tuple[list[Tool], dict[str, str]]:
    """Tools and namespace descriptions, validated; none without a file."""
    if path is None:
        return [], {}
    data = _read_json(path)
    namespaces: Any = {}
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(_TOOLS_KEYS))
        if unknown:
            raise ValueError(f"{path}: unknown key {unknown[0]!r} (expected 'tools' and optionally 'namespaces')")
        if "tools" not in data:
            raise ValueError(f"{path}: an object of tools needs a 'tools' list")
        data, namespaces = data["tools"], data.get("namespaces") or {}
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a list of tools, or an object {{"tools": [...], "namespaces": {{...}}}}')
    if not isinstance(namespaces, dict) or not all(isinstance(v, str) for v in namespaces.values()):
        raise ValueError(f"{path}: namespaces: must map each namespace to its description (a string)")
    try:
        tools = parse_tools(data)
        seen: set[str] = set()
        for index, tool in enumerate(tools):
            if tool.name in seen:
                raise RequestError(f"tools[{index}].function.name: duplicate tool name {tool.name!r}")
            seen.add(tool.name)
            normalize_parameters(tool.function.parameters, where=f"tools[{index}].function.parameters")
    except RequestError as exc:
        raise _in_file(path, exc) from None
    return tools, dict(namespaces)


def _read_messages(path: Path) -> list[Message]:
    data = _read_json(path)
    if isinstance(data, dict) and "messages" in data:
        data = data["messages"]
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a list of messages, or an object {{"messages": [...]}}')
    try:
        return parse_messages(data)
    except RequestError as exc:
        raise _in_file(path, exc) from None
