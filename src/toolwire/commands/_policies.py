"""Command-line flags for the request policies, made from `Policies`' own fields (so a new
policy setting is a new flag without another list to keep)."""

from __future__ import annotations

import argparse
import typing
from typing import Any

from toolwire.chat.policies import Policies, parse_policies

__all__ = ["add_policy_flags", "policies_from_args"]


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    """`--call-syntax`, `--parallel-calls`, ... : server-wide defaults of each policy setting."""
    group = parser.add_argument_group("policies", "defaults of the per-request `toolwire` settings (see README)")
    for name, info in Policies.model_fields.items():
        flag = "--" + name.replace("_", "-")
        default = info.default
        annotation = info.annotation
        choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else None
        if annotation is bool:
            group.add_argument(flag, dest=f"policy_{name}", action=argparse.BooleanOptionalAction, default=default,
                               help=f"(default {default})")
        else:
            kind: Any = float if annotation is float else int if annotation in (int, int | None) else str
            group.add_argument(flag, dest=f"policy_{name}", type=kind, choices=choices, default=default,
                               help=f"(default {default})")


def policies_from_args(args: argparse.Namespace) -> Policies:
    """The `Policies` the flags ask for; a bad value is a `RequestError` naming the flag's setting."""
    return parse_policies({name: getattr(args, f"policy_{name}") for name in Policies.model_fields})
