"""A scripted engine for unit tests of the turn's plumbing and policies: each `generate`
replays the next scripted output (chunks with the model's log-probabilities, as the real
engine reports them) and records the prompt and constraint it was given. Integration tests
run the real models; this only makes policy decisions reproducible by hand."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from toolwire.chat.policies import NEUTRAL_REQUEST
from toolwire.constrain import Constraint, Vocabulary
from toolwire.engine.base import Chunk, Generation, Usage
from toolwire.engine.sampling import SamplingParams

SURE = math.log(0.99)
UNSURE = math.log(0.05)


def chunks(*parts: str | tuple[str, float | None]) -> list[Chunk]:
    """Chunks of one output: a plain string is forced by the grammar; `(text, logprob)` is
    a token the model chose with that log-probability."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(Chunk(part, forced=True))
        else:
            out.append(Chunk(part[0], logprob=part[1]))
    return out


@dataclass
class ScriptedEngine:
    """Replays `outputs` in order, one per `generate`; `end_tokens` are the vocabulary's."""

    outputs: list[list[Chunk]]
    end_tokens: frozenset[str] = frozenset({"<|im_end|>"})
    logprobs: dict[str, float] | list[dict[str, float]] = field(default_factory=dict)
    """Next-token log-probabilities: one table for every query, or one per query in order
    (the last repeated)."""
    evidence: dict[str, float] = field(default_factory=dict)
    """Nats by which the conversation raises each word of a continuation (others: none)."""
    n_ctx: int = 4096
    prompts: list[str] = field(default_factory=list)
    scored: list[str] = field(default_factory=list)
    constraints: list[Any] = field(default_factory=list)

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(special_tokens={}, end_tokens=self.end_tokens)

    def generate(self, prompt: str, *, sampling: SamplingParams = SamplingParams(),
                 constraint: Constraint | None = None) -> Generation:
        self.prompts.append(prompt)
        self.constraints.append(constraint)
        if not self.outputs:
            raise AssertionError(f"no scripted output left for prompt ending {prompt[-60:]!r}")
        script = self.outputs.pop(0)
        generation = Generation(iter(()))
        generation._chunks = self._replay(generation, script, sampling)
        return generation

    def _replay(self, generation: Generation, script: Sequence[Chunk], sampling: SamplingParams) -> Iterator[Chunk]:
        generation.usage = Usage(prompt_tokens=10, completion_tokens=0)
        generation.finish_reason = "length"  # as the llama.cpp engines: until the output ends on its own
        for chunk in script:
            if sampling.max_tokens is not None and generation.usage.completion_tokens >= sampling.max_tokens:
                return
            if generation.cancelled:
                generation.finish_reason = "cancelled"
                return
            generation.usage.completion_tokens += 1
            yield chunk
        generation.finish_reason = "stop"

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def next_token_logprobs(self, prompt: str, tokens: Sequence[str]) -> dict[str, float]:
        """As a real engine: the log-probability of each text's first token (here: the
        scripted entry the text starts with)."""
        table = self.logprobs
        if isinstance(table, list):
            table = table.pop(0) if len(table) > 1 else table[0]
        return {token: next((lp for key, lp in table.items() if token.startswith(key)), -30.0) for token in tokens}

    def continuation_logprobs(self, prompt: str, text: str) -> list[tuple[str, float]]:
        """Words and punctuation of `text`, each 0.9 likely after the conversation and
        `evidence[word]` nats less likely after the neutral request."""
        self.scored.append(prompt)
        neutral = NEUTRAL_REQUEST in prompt
        return [(piece, math.log(0.9) - (self.evidence.get(piece, 0.0) if neutral else 0.0))
                for piece in re.findall(r"\w+|[^\w]", text)]

    def close(self) -> None:
        pass
