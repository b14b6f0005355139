"""Another toolwire server: `/v1/completions` with an llguidance Lark `grammar`, so that
toolwire replicas can sit behind a gateway or a load balancer.

    POST /v1/completions {"model": ..., "prompt": ..., "stream": true,
        "stream_options": {"include_usage": true}, "max_tokens": ..., "repeat_penalty": ...,
        "stop": [...], "grammar": "<Lark>"}
"""

from __future__ import annotations

from typing import Any

from toolwire.constrain import Constraint, lark_grammar
from toolwire.engine.remote._openai import completion_event, served_model, tokenize
from toolwire.engine.remote.base import Event, RemoteEngine
from toolwire.engine.remote.sampling import sampling_fields
from toolwire.engine.sampling import SamplingParams

__all__ = ["ToolwireEngine"]


class ToolwireEngine(RemoteEngine):
    """A `toolwire serve` upstream."""

    dialect = "toolwire"
    path = "/v1/completions"
    grammars = ("lark",)

    def connect(self) -> None:
        self.model, self.n_ctx = served_model(self.upstream, self.model)

    def request(self, prompt: str, sampling: SamplingParams, constraint: Constraint | None,
                max_tokens: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "prompt": prompt, "stream": True,
                                "stream_options": {"include_usage": True},
                                **sampling_fields(sampling, "toolwire", max_tokens=max_tokens)}
        if constraint is not None:
            body["grammar"] = lark_grammar(constraint, self.vocabulary)
        return body

    def read_event(self, event: dict[str, Any], state: dict[str, Any]) -> Event:
        return completion_event(event)

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        return tokenize(self.upstream, self.model, text, add_special=add_special)
