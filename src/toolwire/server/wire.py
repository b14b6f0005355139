"""One pipeline, several wire shapes: what the server needs of each API it speaks.

Every chat-like endpoint (`/v1/chat/completions`, `/v1/responses`, `/v1/messages`) runs
the same request core, `model.chat(...)` with OpenAI chat semantics. An API module
translates its validated request into `model.chat`'s keyword arguments and translates
the answer back: the `chat.completion` dict into its response object, the
`chat.completion.chunk` dicts into its stream events. Errors use the API's own shape.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol

from toolwire.errors import RequestError
from toolwire.server.sse import SseFraming

__all__ = ["ErrorShape", "WireRequest"]

ErrorShape = Callable[..., dict[str, Any]]
"""`shape(status, message, *, param=None, code=None)` -> the API's error body."""


class WireRequest(Protocol):
    """A request of one API, translated to `model.chat` and back."""

    stream: bool

    def chat_options(self) -> dict[str, Any]:
        """The keyword arguments of `model.chat` (without `stream`). Raises RequestError
        naming the API's field."""

    def response(self, completion: dict[str, Any]) -> dict[str, Any]:
        """The API's response body for a `chat.completion` dict."""

    def events(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The API's stream events for `chat.completion.chunk` dicts (closing the
        iterator closes `chunks`)."""

    def framing(self) -> SseFraming:
        """How the events are written as server-sent events."""

    def request_error(self, error: RequestError) -> RequestError:
        """A RequestError of the chat layer with its field named as this API names it."""
