"""`chat.completion.chunk` dicts read back as streaming events, and folded into the
`chat.completion` they add up to.

`model.chat(stream=True)` speaks OpenAI's chat chunks. The other APIs the server speaks
(Responses, Anthropic Messages) re-emit the same stream in their own event shapes; they
read it here as toolwire's streaming events (`ReasoningDelta`, `ContentDelta`, `CallStart`,
`ArgumentsDelta`) and take the final object from `ChunkReader.completion()`, which has the
shape `model.chat(stream=False)` returns. So a streamed answer and a non-streamed one are
shaped by the same function.
"""

from __future__ import annotations

from typing import Any

from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, Event, ReasoningDelta

__all__ = ["ChunkReader"]


class ChunkReader:
    """Feed chunks in order; get the events each one carries; `completion()` at the end."""

    def __init__(self) -> None:
        self.id = ""
        self.created = 0
        self.model = ""
        self.reasoning = ""
        self.content = ""
        self.calls: list[dict[str, Any]] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.toolwire: dict[str, Any] | None = None  # toolwire's notes on the answer (a relaxed schema, ...)

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events of one chunk (reasoning, content, call starts, argument pieces)."""
        self.id = self.id or chunk.get("id", "")
        self.created = self.created or chunk.get("created", 0)
        self.model = self.model or chunk.get("model", "")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        if chunk.get("toolwire"):
            self.toolwire = chunk["toolwire"]
        events: list[Event] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                self.reasoning += reasoning
                events.append(ReasoningDelta(reasoning))
            if delta.get("content"):
                self.content += delta["content"]
                events.append(ContentDelta(delta["content"]))
            for piece in delta.get("tool_calls") or []:
                events.extend(self._call_piece(piece))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _call_piece(self, piece: dict[str, Any]) -> list[Event]:
        index = piece.get("index", len(self.calls))
        function = piece.get("function") or {}
        events: list[Event] = []
        if index == len(self.calls):
            self.calls.append({"id": piece.get("id", ""), "type": "function",
                               "function": {"name": function.get("name", ""), "arguments": ""}})
            events.append(CallStart(index, self.calls[index]["id"], self.calls[index]["function"]["name"]))
        arguments = function.get("arguments")
        if arguments:
            self.calls[index]["function"]["arguments"] += arguments
            events.append(ArgumentsDelta(index, arguments))
        return events

    def completion(self) -> dict[str, Any]:
        """The `chat.completion` the chunks add up to."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.reasoning:
            message["reasoning_content"] = self.reasoning
        if self.calls:
            message["tool_calls"] = self.calls
        completion = {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                      "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason,
                                   "logprobs": None}],
                      "usage": self.usage}
        if self.toolwire:
            completion["toolwire"] = self.toolwire
        return completion
