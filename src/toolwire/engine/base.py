"""The engine contract: a prompt, a constraint and sampling options in; text chunks, a
finish reason and usage out, with cancellation.

`toolwire.chat` depends on this contract only. Engines: `engine.llamacpp.LlamaEngine`
(llama-cpp-python in this process) and the remote engines that send toolwire's prompt and
grammar to another server. An engine compiles the `Constraint` it is given (an
engine-independent description from `toolwire.constrain`) into its own grammar dialect;
one that cannot express a constraint raises `ConstraintUnsupported` instead of
generating unconstrained.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import AsyncIterator, Iterator, Protocol, Sequence, runtime_checkable

from toolwire.constrain import Constraint, Vocabulary
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import ToolwireError

__all__ = ["Chunk", "ConstraintUnsupported", "Engine", "Generation", "Usage", "Vocabulary"]


class ConstraintUnsupported(ToolwireError):
    """The engine cannot enforce this constraint (it never falls back to free text)."""


@dataclass(frozen=True)
class Chunk:
    """Text produced by one step: a sampled token and the tokens the grammar then forced
    (`forced`). `logprob`: the sampled token's log-probability under the model
    (temperature 1, before any grammar mask), when the grammar left the model a choice;
    None when it allowed only that token, or the engine cannot tell."""

    text: str
    tokens: tuple[int, ...] = ()
    forced: bool = False
    logprob: float | None = None


@dataclass
class Usage:
    """Token counts and times of one generation. `cached_tokens`: prompt tokens whose KV
    entries were reused rather than evaluated."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    prompt_seconds: float = 0.0
    generation_seconds: float = 0.0


@dataclass
class Generation:
    """An iterator of `Chunk`s (sync, or async with `async for`); `finish_reason`
    (`stop`, `length` or `cancelled`) and `usage` are set when it ends. `cancel()` (from
    any thread) stops it before the next token; `close()` stops it at once and releases
    what it holds."""

    _chunks: Iterator[Chunk]
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[Chunk]:
        return self._chunks

    def __next__(self) -> Chunk:
        return next(self._chunks)

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._async_chunks()

    async def _async_chunks(self) -> AsyncIterator[Chunk]:
        """Each chunk is computed in a worker thread, so the event loop stays free; if the
        consumer stops (or is cancelled), the generation is cancelled and closed."""
        try:
            while True:
                chunk = await asyncio.to_thread(next, self._chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            self._cancelled.set()
            await asyncio.to_thread(self.close)

    def cancel(self) -> None:
        """Stop before the next token; safe from any thread."""
        self._cancelled.set()

    def close(self) -> None:
        """Stop now and release the engine (from the thread that iterates)."""
        self._cancelled.set()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def text(self) -> str:
        """Run to the end and return all the text."""
        return "".join(chunk.text for chunk in self)


@runtime_checkable
class Engine(Protocol):
    """What toolwire needs of an engine."""

    n_ctx: int
    """The context size in tokens."""

    vocabulary: Vocabulary

    def generate(
        self,
        prompt: str,
        *,
        sampling: SamplingParams = SamplingParams(),
        constraint: Constraint | None = None,
    ) -> Generation:
        """Start generating after `prompt` (text with special tokens written out),
        under `constraint` when given. Errors in the request (a prompt longer than the
        context, a constraint that does not compile) raise here, before any token."""

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` is as a prompt."""

    def next_token_logprobs(self, prompt: str, tokens: Sequence[str]) -> dict[str, float]:
        """The model's log-probability that the next token after `prompt` is the first
        token of each text in `tokens` (a special token's text, a word, a tool's name),
        unconstrained and at temperature 1. Engines that cannot tell raise
        `NotImplementedError`; policies that need it then fall back (see chat/policies.py)."""

    def close(self) -> None:
        """Release the model and its memory."""
