"""Sampling parameters and the sampler: logits (+ grammar mask) -> one token id."""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["OPENAI_SAMPLING_FIELDS", "SAMPLING_FIELDS", "SamplingParams", "Sampler", "sampling_params"]


_OPENAI = {"openai": True}
"""Marks the options OpenAI's API has; the others are llama.cpp-style extras."""


class SamplingParams(BaseModel):
    """Sampling options, OpenAI's with llama.cpp's extras, and their ranges: the one list
    the Python API, the HTTP protocol, the engines and the agent backends all read.
    `temperature` 0 means greedy; `max_tokens` None means up to the context's end."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.0, ge=0, le=2, json_schema_extra=_OPENAI)
    top_p: float = Field(1.0, gt=0, le=1, json_schema_extra=_OPENAI)
    top_k: int = Field(0, ge=0, description="0: no top-k cut")
    min_p: float = Field(0.0, ge=0, le=1)
    repeat_penalty: float = Field(1.0, gt=0)
    presence_penalty: float = Field(0.0, ge=-2, le=2, json_schema_extra=_OPENAI)
    frequency_penalty: float = Field(0.0, ge=-2, le=2, json_schema_extra=_OPENAI)
    penalty_window: int = Field(64, ge=1, description="how many recent tokens the penalties look at")
    seed: int | None = Field(None, json_schema_extra=_OPENAI)
    max_tokens: int | None = Field(None, ge=1, json_schema_extra=_OPENAI)
    stop: tuple[str, ...] = Field((), json_schema_extra=_OPENAI)

    @field_validator("stop", mode="before")
    @classmethod
    def _stops(cls, value: Any) -> Any:
        """A string or a list of strings; empty strings dropped."""
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        return tuple(item for item in value if item) if isinstance(value, (list, tuple)) else value


SAMPLING_FIELDS: tuple[str, ...] = tuple(SamplingParams.model_fields)
"""The names of the sampling options."""
OPENAI_SAMPLING_FIELDS: frozenset[str] = frozenset(
    name for name, info in SamplingParams.model_fields.items() if info.json_schema_extra == _OPENAI)
"""The sampling options OpenAI's API has (the others travel as extra body fields)."""


def sampling_params(**options: Any) -> SamplingParams:
    """`SamplingParams(**options)`, with a `RequestError` naming the first bad field."""
    from toolwire.errors import RequestError

    try:
        return SamplingParams(**options)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "sampling"
        value = options.get(str(first["loc"][0])) if first["loc"] else None
        message = "unknown option" if first["type"] == "extra_forbidden" else first["msg"]
        raise RequestError(f"{name}: {value!r}: {message}" if value is not None else f"{name}: {message}",
                           param=name) from None


class Sampler:
    """Applies penalties, the grammar mask, temperature and truncation, then picks a token."""

    def __init__(self, params: SamplingParams) -> None:
        self.params = params
        self.rng = np.random.default_rng(params.seed)
        self.history: list[int] = []

    def sample(self, logits: np.ndarray, allowed: np.ndarray | None = None) -> int:
        """Pick a token from `logits` (modified in place); `allowed` is a boolean mask."""
        p = self.params
        if allowed is not None:
            logits[~allowed[: logits.shape[0]]] = -np.inf
        self._penalise(logits)
        if p.temperature <= 0:
            return int(np.argmax(logits))
        # shift so the best logit is 0 before dividing: a tiny temperature then sends the
        # others to -inf instead of overflowing everything to inf
        logits = (logits.astype(np.float64) - np.max(logits)) / p.temperature
        candidates = np.flatnonzero(np.isfinite(logits))
        scores = logits[candidates]
        if p.top_k and p.top_k < len(candidates):
            keep = np.argpartition(-scores, p.top_k - 1)[: p.top_k]
            candidates, scores = candidates[keep], scores[keep]
        order = np.argsort(-scores)
        candidates, scores = candidates[order], scores[order]
        probs = np.exp(scores - scores[0])
        probs /= probs.sum()
        if p.min_p > 0:
            keep = probs >= p.min_p * probs[0]
            candidates, probs = candidates[keep], probs[keep]
        if p.top_p < 1:
            cut = int(np.searchsorted(np.cumsum(probs), p.top_p)) + 1
            candidates, probs = candidates[:cut], probs[:cut]
        probs = probs / probs.sum()
        return int(self.rng.choice(candidates, p=probs))

    def accept(self, token: int) -> None:
        """Record a token that was generated (sampled or forced), for the penalties."""
        self.history.append(token)

    def _penalise(self, logits: np.ndarray) -> None:
        p = self.params
        if not self.history or (p.repeat_penalty == 1 and not p.presence_penalty and not p.frequency_penalty):
            return
        counts = Counter(self.history[-p.penalty_window:])
        tokens = np.fromiter(counts.keys(), dtype=np.int64)
        freq = np.fromiter(counts.values(), dtype=np.float32)
        values = logits[tokens]
        if p.repeat_penalty != 1:
            values = np.where(values > 0, values / p.repeat_penalty, values * p.repeat_penalty)
        values = values - freq * p.frequency_penalty - (freq > 0) * p.presence_penalty
        logits[tokens] = values
