"""vLLM: `/v1/completions` with `structured_outputs`.

    POST /v1/completions {"model": ..., "prompt": ..., "stream": true,
        "stream_options": {"include_usage": true}, "max_tokens": ..., "temperature": ...,
        "repetition_penalty": ..., "stop": [...], "skip_special_tokens": false,
        "spaces_between_special_tokens": false,
        "structured_outputs": {"structural_tag": "<JSON>"} | {"grammar": "<Lark or EBNF>"} | {"json": {...}}}

`grammar` says how the server was started: `structural-tag` (default; xgrammar, vLLM's
default backend), `lark` (`--structured-outputs-config.backend guidance`: llguidance Lark
with special tokens by id) or `ebnf` (xgrammar EBNF). The legacy `guided_*` fields were
removed in vLLM 0.12 and are silently ignored there, so they are never sent. Special
tokens stay in the text (`skip_special_tokens: false`): the format's parser needs them.
`logprobs: 1` reports each token's log-probability (vLLM's default `raw_logprobs`: before
any processing or grammar mask), which toolwire's `call_confidence` policy reads.
"""

from __future__ import annotations

import json
from typing import Any

from toolwire.constrain import Constraint, JsonConstraint, LarkConstraint, lark_grammar
from toolwire.constrain.ebnf import ebnf_grammar
from toolwire.constrain.structural_tag import structural_tag
from toolwire.engine.base import ConstraintUnsupported
from toolwire.engine.remote._openai import completion_event, served_model, tokenize
from toolwire.engine.remote.base import Event, RemoteEngine
from toolwire.engine.remote.sampling import sampling_fields
from toolwire.engine.sampling import SamplingParams

__all__ = ["VLLM_GRAMMARS", "VllmEngine"]

VLLM_GRAMMARS = ("structural-tag", "lark", "ebnf")


class VllmEngine(RemoteEngine):
    """A vLLM upstream (`vllm serve`)."""

    dialect = "vllm"
    path = "/v1/completions"
    grammars = VLLM_GRAMMARS

    def connect(self) -> None:
        self.model, self.n_ctx = served_model(self.upstream, self.model)

    def request(self, prompt: str, sampling: SamplingParams, constraint: Constraint | None,
                max_tokens: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "prompt": prompt, "stream": True,
                                "stream_options": {"include_usage": True},
                                **sampling_fields(sampling, "vllm", max_tokens=max_tokens), "logprobs": 1,
                                "skip_special_tokens": False, "spaces_between_special_tokens": False}
        if constraint is not None:
            body["structured_outputs"] = self.structured_outputs(constraint)
        return body

    def structured_outputs(self, constraint: Constraint) -> dict[str, Any]:
        if isinstance(constraint, JsonConstraint):
            return {"json": constraint.schema}
        if isinstance(constraint, LarkConstraint):
            if self.grammar != "lark":
                raise ConstraintUnsupported("grammar: this vLLM runs xgrammar, which cannot take an llguidance Lark "
                                            "grammar (start vLLM with --structured-outputs-config.backend guidance)")
            return {"grammar": constraint.grammar}
        if self.grammar == "lark":
            return {"grammar": lark_grammar(constraint, self.vocabulary)}
        if self.grammar == "ebnf":
            return {"grammar": ebnf_grammar(constraint, self.vocabulary)}
        return {"structural_tag": json.dumps(structural_tag(constraint, self.vocabulary), ensure_ascii=False)}

    def read_event(self, event: dict[str, Any], state: dict[str, Any]) -> Event:
        return completion_event(event)

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        return tokenize(self.upstream, self.model, text, add_special=add_special)
