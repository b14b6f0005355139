"""`toolwire build llama-server`: build (once) and print the path of llama.cpp's server,
from the llama.cpp sources in the llama-cpp-python sdist toolwire builds its engine from,
with the same CPU flags (see `toolwire.engine.build`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="build llama.cpp binaries toolwire can sit in front of")
    parser.add_argument("target", choices=("llama-server",), help="what to build")
    parser.add_argument("--sdist", type=Path, default=None,
                        help="a downloaded llama-cpp-python sdist (.tar.gz) to build from (default: pip download it)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from toolwire.engine.build import ensure_llama_server

    binary = ensure_llama_server(log=lambda line: print(line, file=sys.stderr, flush=True), sdist=args.sdist)
    print(binary)
    return 0
