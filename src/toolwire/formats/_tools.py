"""Tools as family templates read them: OpenAI lets a tool leave out its description and
its parameters, but some templates print both unconditionally and fail without them."""

from __future__ import annotations

from typing import Any

__all__ = ["EMPTY_PARAMETERS", "with_defaults"]

EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
"""The parameters of a tool that takes none."""


def with_defaults(tools: list[dict[str, Any]], **defaults: Any) -> list[dict[str, Any]]:
    """Tool dicts (`{"type": "function", "function": {...}}`) whose functions have each of
    `defaults` (`description=""`, `parameters=EMPTY_PARAMETERS`) where they lack it, after
    their own keys."""
    return [{**tool, "function": {**tool["function"], **{key: value for key, value in defaults.items()
                                                         if key not in tool["function"]}}} for tool in tools]
