"""`toolwire bench ...`: one sub-subcommand per benchmark. Each benchmark module
(`toolwire.bench.<name>`) exposes `add_arguments(parser)` and `main(args) -> int` and is
imported only when its subcommand runs, so `toolwire --help` stays fast."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from typing import Any

__all__ = ["register", "register_bfcl", "register_serve", "register_speed"]


def _lazy_main(module: str) -> Any:
    """A handler that imports `module` on use and runs its `main(args)`."""

    def handler(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).main(args))

    return handler


def register_bfcl(sub: Any) -> None:
    """`toolwire bench bfcl`: BFCL AST accuracy, constrained vs unconstrained."""
    from toolwire.bench import bfcl

    parser = sub.add_parser("bfcl", help="BFCL AST accuracy, constrained vs unconstrained",
                            description=bfcl.__doc__.splitlines()[0] if bfcl.__doc__ else None)
    bfcl.add_arguments(parser)
    parser.set_defaults(handler=_lazy_main("toolwire.bench.bfcl"))


def register_serve(sub: Any) -> None:
    """`toolwire bench serve`: the server under concurrent clients, beside llama-server."""
    from toolwire.bench import serve

    parser = sub.add_parser("serve", help="the server under 1..N concurrent clients, beside llama-server",
                            description=serve.__doc__.splitlines()[0] if serve.__doc__ else None)
    serve.add_arguments(parser)
    parser.set_defaults(handler=_lazy_main("toolwire.bench.serve"))


# --- bench speed (owned by the lead: toolwire/bench/speed.py) -------------------------
def register_speed(sub: Any) -> None:
    """`toolwire bench speed`: options and run come from `toolwire.bench.speed`, imported
    here rather than at the top of this file. Until that module exists, `speed` is absent."""
    if importlib.util.find_spec("toolwire.bench.speed") is None:
        return
    speed = importlib.import_module("toolwire.bench.speed")
    parser = sub.add_parser("speed", help="decode/prompt speed and call latency")
    speed.add_arguments(parser)
    parser.set_defaults(handler=_lazy_main("toolwire.bench.speed"))


def register(subparsers: Any) -> None:
    """Add `bench` with its `bfcl`, `serve` and `speed` subcommands."""
    parser = subparsers.add_parser("bench", help="benchmarks: bfcl, serve, speed")
    sub = parser.add_subparsers(dest="bench_command", required=True, metavar="{bfcl,serve,speed}")
    register_bfcl(sub)
    register_serve(sub)
    register_speed(sub)
