"""OpenAI response shapes: a turn's result as a `chat.completion`, its stream events as
`chat.completion.chunk`s. The same events build both, so a streamed answer reassembles to
the non-streamed one."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from toolwire.engine.base import Usage
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, Event, ReasoningDelta
from toolwire.types import ParsedMessage

__all__ = ["ResponseShape", "TurnUsage"]


@dataclass
class TurnUsage:
    """Tokens of a turn, over all its generations. `prompt_tokens` and `cached_tokens`
    are the conversation's (the first generation's prompt); `completion_tokens` counts
    every generated token, including `rejected_tokens`: text a policy set aside
    (OpenAI's `rejected_prediction_tokens`: generated, billed, not in the answer)."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    rejected_tokens: int = 0
    generations: int = 0

    def add(self, usage: Usage) -> None:
        if self.generations == 0:
            self.prompt_tokens, self.cached_tokens = usage.prompt_tokens, usage.cached_tokens
        self.completion_tokens += usage.completion_tokens
        self.generations += 1

    def as_openai(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"rejected_prediction_tokens": self.rejected_tokens},
        }


@dataclass
class ResponseShape:
    """Ids and names shared by every object of one response."""

    model: str
    legacy_functions: bool = False
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    def message(self, result: ParsedMessage) -> dict[str, Any]:
        """The assistant message: content (None when empty), `reasoning_content` when the
        model thought, and `tool_calls` (or the legacy `function_call`)."""
        message: dict[str, Any] = {"role": "assistant", "content": result.content or None}
        if result.reasoning:
            message["reasoning_content"] = result.reasoning
        calls = [{"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                 for call in result.calls]
        if calls and self.legacy_functions:
            message["function_call"] = calls[0]["function"]
        elif calls:
            message["tool_calls"] = calls
        return message

    def finish_reason(self, reason: str) -> str:
        return "function_call" if reason == "tool_calls" and self.legacy_functions else reason

    def completion(self, result: ParsedMessage, reason: str, usage: TurnUsage,
                   notes: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "message": self.message(result), "finish_reason": self.finish_reason(reason),
                         "logprobs": None}],
            "usage": usage.as_openai(),
        }
        if notes:
            body["toolwire"] = {"notes": notes}
        return body

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}

    def delta(self, event: Event) -> dict[str, Any]:
        """The chunk delta of one stream event."""
        if isinstance(event, ReasoningDelta):
            return {"reasoning_content": event.text}
        if isinstance(event, ContentDelta):
            return {"content": event.text}
        if isinstance(event, CallStart):
            if self.legacy_functions:
                return {"function_call": {"name": event.name, "arguments": ""}}
            return {"tool_calls": [{"index": event.index, "id": event.id, "type": "function",
                                    "function": {"name": event.name, "arguments": ""}}]}
        assert isinstance(event, ArgumentsDelta)
        if self.legacy_functions:
            return {"function_call": {"arguments": event.text}}
        return {"tool_calls": [{"index": event.index, "function": {"arguments": event.text}}]}

    def final_chunks(self, reason: str, usage: TurnUsage | None, notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The chunk with the finish reason (and the notes), then the usage chunk when asked for."""
        last = self.chunk({}, self.finish_reason(reason))
        if notes:
            last["toolwire"] = {"notes": notes}
        chunks = [last]
        if usage is not None:
            chunk = self.chunk({})
            chunk["choices"] = []
            chunk["usage"] = usage.as_openai()
            chunks.append(chunk)
        return chunks
