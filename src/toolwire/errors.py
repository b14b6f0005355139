"""Errors toolwire raises on bad input. Each names the offending field."""

from __future__ import annotations

__all__ = ["ToolwireError", "RequestError", "SchemaError", "TemplateError", "ModelError", "UpstreamError", "ToolSourceError", "Cancelled"]


class ToolwireError(Exception):
    """Base class of toolwire's errors."""


class RequestError(ToolwireError, ValueError):
    """A request (messages, tools, tool_choice, options) is invalid. `param` names the field."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class SchemaError(RequestError):
    """A tool's parameter schema is invalid or cannot be compiled into a grammar."""


class TemplateError(ToolwireError):
    """A chat template failed to render, or tried to reach outside its sandbox."""


class ModelError(ToolwireError):
    """A model cannot be found, fetched, verified or loaded."""


class UpstreamError(ToolwireError):
    """The engine server toolwire sends generations to failed or refused a request.
    `status` is the HTTP status a gateway answers with: the upstream's own 4xx for a
    request it refused (its message is kept), 502 when it failed or cannot be reached,
    504 when it did not answer in time."""

    def __init__(self, message: str, *, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ToolSourceError(ToolwireError):
    """A tool source (an MCP server) cannot be started, reached or listed."""


class Cancelled(ToolwireError):
    """The caller cancelled a request before it was answered (its client went away)."""
