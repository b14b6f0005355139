"""What every remote engine shares: the `Engine` contract over HTTP.

A remote engine sends the prompt toolwire rendered and the grammar toolwire built (in the
upstream's dialect) to the upstream's own completion API, streams the text back as
`Chunk`s, and cancels by closing the response. A subclass says how one dialect writes a
request (`request`), reads a streamed event (`read_event`), tokenizes (`tokenize`) and
tells its context size (`context_size`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Iterator, Sequence

from toolwire.constrain import Constraint, Vocabulary
from toolwire.engine.base import Chunk, Generation, Usage
from toolwire.engine.remote._http import EventStream, Upstream
from toolwire.engine.remote.sampling import Dialect
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import RequestError, UpstreamError

__all__ = ["Event", "RemoteEngine"]


@dataclass
class Event:
    """What one streamed event says: new text (and the least log-probability the model
    gave its tokens, when the upstream reports it), and at the end a finish reason and
    usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    logprob: float | None = None


class RemoteEngine:
    """An engine server reached over HTTP (see the module doc)."""

    dialect: ClassVar[Dialect]
    path: ClassVar[str]
    """The completion route."""
    grammars: ClassVar[tuple[str, ...]]
    """The grammar forms this upstream can be sent, the default first (the `grammar`
    option: how the server was started, or how its grammar is applied)."""
    needs_max_tokens: ClassVar[bool] = True
    """Whether leaving `max_tokens` out means a short default rather than "until the
    context is full" (vLLM, SGLang and toolwire default to 16 tokens), so the room left in
    the context is sent. Every prompt is counted first (one `/tokenize`, cached for the
    turn): a prompt longer than the context is refused as in-process, naming the field."""

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 grammar: str | None = None, timeout: float = 600.0) -> None:
        if grammar is not None and grammar not in self.grammars:
            raise ValueError(f"grammar: {grammar!r} is not one of {', '.join(self.grammars)} for a {self.dialect} upstream")
        self.grammar = grammar or self.grammars[0]
        self.url = url.rstrip("/")
        self.upstream = Upstream(self.url, api_key=api_key, timeout=timeout)
        self.model = model
        self.vocabulary = Vocabulary()
        self.n_ctx = 0
        self._counted: tuple[str, int] = ("", 0)  # the last prompt counted (a turn's probe and generation share it)
        self.connect()

    # -- what a dialect says ------------------------------------------------------------

    def connect(self) -> None:
        """Learn what the upstream serves (model name, context size)."""

    def request(self, prompt: str, sampling: SamplingParams, constraint: Constraint | None,
                max_tokens: int | None) -> dict[str, Any]:
        """The body of a streamed completion request."""
        raise NotImplementedError

    def read_event(self, event: dict[str, Any], state: dict[str, Any]) -> Event:
        """What one streamed event says; `state` is the generation's own scratch space."""
        raise NotImplementedError

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        """The upstream's tokens of `text` (special-token texts parsed as tokens)."""
        raise NotImplementedError

    # -- the Engine contract ------------------------------------------------------------

    def generate(self, prompt: str, *, sampling: SamplingParams = SamplingParams(),
                 constraint: Constraint | None = None) -> Generation:
        """Send the request and open the stream now (the upstream's refusals raise here);
        text arrives as the `Generation` is iterated."""
        if not prompt:
            raise RequestError("prompt: must not be empty", param="prompt")
        used, room = self._room(prompt)
        max_tokens = sampling.max_tokens
        if room is not None and (max_tokens is not None or self.needs_max_tokens):
            max_tokens = room if max_tokens is None else min(max_tokens, room)  # never past the context
        body = self.request(prompt, sampling, constraint, max_tokens)
        started = time.perf_counter()
        events = self.upstream.stream(self.path, body)
        generation = Generation(iter(()))
        generation.usage.prompt_tokens = used or 0
        generation._chunks = _Chunks(self._run(generation, events, started), events)
        return generation

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text, add_special=True))

    def next_token_logprobs(self, prompt: str, tokens: Sequence[str]) -> dict[str, float]:
        raise NotImplementedError(f"{self.dialect} upstreams do not report next-token log-probabilities here")

    def learn_special_tokens(self, texts: Iterable[str], end_tokens: Iterable[str] = ()) -> Vocabulary:
        """Ask the upstream which of `texts` are single tokens of its vocabulary (the
        special tokens a format's markers may be) and keep them in `vocabulary`."""
        special: dict[str, int] = {}
        for text in dict.fromkeys(texts):
            tokens = self.tokenize(text, add_special=False)
            if len(tokens) == 1:
                special[text] = tokens[0]
        self.vocabulary = Vocabulary(special_tokens=special, end_tokens=frozenset(end_tokens))
        return self.vocabulary

    def close(self) -> None:
        self.upstream.close()

    # -- internals ----------------------------------------------------------------------

    def _room(self, prompt: str) -> tuple[int | None, int | None]:
        """The prompt's tokens and the tokens left in the context after it (None, None when
        the context size is unknown); a prompt that fills the context is refused here, as
        in-process. Requests may run in several threads at once: the cache is one tuple."""
        if not self.n_ctx:
            return None, None
        counted = self._counted
        if counted[0] != prompt:
            counted = (prompt, self.count_tokens(prompt))
            self._counted = counted
        used = counted[1]
        room = self.n_ctx - used
        if room < 1:
            raise RequestError(
                f"messages: the prompt is {used} tokens, {1 - room} more than the context of {self.n_ctx} tokens "
                "allows", param="messages", code="context_length_exceeded")
        return used, room

    def _run(self, generation: Generation, events: EventStream, started: float) -> Iterator[Chunk]:
        generation.finish_reason = "stop"
        usage = generation.usage
        state: dict[str, Any] = {}
        text: list[str] = []
        reported = False
        try:
            for payload in events:
                if generation.cancelled:
                    generation.finish_reason = "cancelled"
                    break
                event = self.read_event(payload, state)
                if event.usage is not None:
                    reported = True
                    usage.prompt_tokens = event.usage.prompt_tokens
                    usage.completion_tokens = event.usage.completion_tokens
                    usage.cached_tokens = event.usage.cached_tokens
                if event.finish_reason:
                    generation.finish_reason = "length" if event.finish_reason == "length" else "stop"
                if event.text:
                    if not text:
                        usage.prompt_seconds = time.perf_counter() - started
                    text.append(event.text)
                    yield Chunk(event.text, logprob=event.logprob)
        finally:
            events.close()
            usage.generation_seconds = time.perf_counter() - started - usage.prompt_seconds
            if not reported and text:
                usage.completion_tokens = self._count_generated("".join(text), len(text))

    def _count_generated(self, text: str, chunks: int) -> int:
        """Tokens of output the upstream never reported (the generation was closed before
        its usage arrived): the upstream's count of the text, or the chunks received."""
        try:
            return len(self.tokenize(text, add_special=False))
        except UpstreamError:
            return chunks


class _Chunks:
    """The chunk iterator of a remote generation: closing it closes the response even
    when iteration never started (a generator's `finally` would not run then)."""

    def __init__(self, chunks: Iterator[Chunk], events: EventStream) -> None:
        self.chunks = chunks
        self.events = events

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        self.events.close()
