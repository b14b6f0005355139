"""`toolwire doctor`: check the engine on this machine and print what a bug report needs."""

from __future__ import annotations

import argparse
from typing import Any

from toolwire.doctor import check_engine
from toolwire.models import resolve_model

__all__ = ["register", "run"]

CHECK_MODEL = "smollm2-135m"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check that the engine runs on this machine; print versions, build flags and speed",
        description="Load the engine in a subprocess, decode a few tokens on the small test model and print "
                    "toolwire, llama-cpp-python and llguidance versions, llama.cpp's build features, the model "
                    "cache and tokens/s. If the engine crashes, say why and how to fix it. Exit status 1 then.")
    parser.add_argument("--model", default=CHECK_MODEL, help=f"model to decode with (default {CHECK_MODEL})")
    parser.add_argument("--tokens", type=int, default=32, help="tokens to decode (default 32)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = check_engine(resolve_model(args.model), tokens=args.tokens)
    print(result.report())
    return 0 if result.ok else 1
