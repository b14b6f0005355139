"""The `toolwire` command line. Each subcommand lives in its own module under
`toolwire.commands` and exposes `register(subparsers)`; this file only lists them."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from toolwire.errors import ToolwireError

__all__ = ["main"]

COMMAND_MODULES = (
    "toolwire.commands.render_parse",  # render, parse
    "toolwire.commands.models",  # models
    "toolwire.commands.doctor",  # doctor
    "toolwire.commands.serve",  # serve
    "toolwire.commands.chat",  # chat
    "toolwire.commands.dataset",  # dataset build
    "toolwire.commands.bench",  # bench speed, bench bfcl
    "toolwire.commands.build",  # build llama-server
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolwire", description="Reliable function calling for local GGUF models.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors print one line and exit with code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (ToolwireError, OSError, ValueError) as exc:
        print(f"toolwire: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
