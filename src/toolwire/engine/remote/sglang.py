"""SGLang: the native `/generate` route, whose `sampling_params` take the grammar.

    POST /generate {"text": ..., "stream": true, "sampling_params": {"max_new_tokens": ...,
        "temperature": ..., "repetition_penalty": ..., "sampling_seed": ..., "stop": [...],
        "skip_special_tokens": false, "spaces_between_special_tokens": false,
        "ebnf": "<EBNF>" | "structural_tag": "<JSON>" | "json_schema": "<JSON>"}}

`grammar` says how the server was started: `ebnf` (default; xgrammar, SGLang's default
grammar backend), `structural-tag` (xgrammar) or `lark` (`--grammar-backend llguidance`:
llguidance Lark, sent in the `ebnf` field with its `%llguidance {}` header). Streamed
events carry the text so far (or, with `--incremental-streaming-output`, the new text);
both are read.
"""

from __future__ import annotations

import json
from typing import Any

from toolwire.constrain import Constraint, JsonConstraint, LarkConstraint, lark_grammar
from toolwire.constrain.ebnf import ebnf_grammar
from toolwire.constrain.structural_tag import structural_tag
from toolwire.engine.base import ConstraintUnsupported, Usage
from toolwire.engine.remote._openai import served_model, tokenize
from toolwire.engine.remote.base import Event, RemoteEngine
from toolwire.engine.remote.sampling import sampling_fields
from toolwire.engine.sampling import SamplingParams

__all__ = ["SGLANG_GRAMMARS", "SglangEngine"]

SGLANG_GRAMMARS = ("ebnf", "structural-tag", "lark")
_LARK_HEADER = "%llguidance {}"


class SglangEngine(RemoteEngine):
    """An SGLang upstream (`python -m sglang.launch_server`)."""

    dialect = "sglang"
    path = "/generate"
    grammars = SGLANG_GRAMMARS

    def connect(self) -> None:
        self.model, self.n_ctx = served_model(self.upstream, self.model)

    def request(self, prompt: str, sampling: SamplingParams, constraint: Constraint | None,
                max_tokens: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {**sampling_fields(sampling, "sglang", max_tokens=max_tokens),
                                  "skip_special_tokens": False, "spaces_between_special_tokens": False}
        if constraint is not None:
            params.update(self.grammar_field(constraint))
        return {"text": prompt, "stream": True, "sampling_params": params}

    def grammar_field(self, constraint: Constraint) -> dict[str, str]:
        if isinstance(constraint, JsonConstraint):
            return {"json_schema": json.dumps(constraint.schema, ensure_ascii=False)}
        if isinstance(constraint, LarkConstraint):
            if self.grammar != "lark":
                raise ConstraintUnsupported("grammar: this SGLang runs xgrammar, which cannot take an llguidance Lark "
                                            "grammar (start SGLang with --grammar-backend llguidance)")
            text = constraint.grammar
            return {"ebnf": text if text.lstrip().startswith(_LARK_HEADER) else f"{_LARK_HEADER}\n{text}"}
        if self.grammar == "lark":
            return {"ebnf": lark_grammar(constraint, self.vocabulary)}
        if self.grammar == "structural-tag":
            return {"structural_tag": json.dumps(structural_tag(constraint, self.vocabulary), ensure_ascii=False)}
        return {"ebnf": ebnf_grammar(constraint, self.vocabulary)}

    def read_event(self, event: dict[str, Any], state: dict[str, Any]) -> Event:
        text = str(event.get("text") or "")
        seen = state.get("text", "")
        new = text[len(seen):] if text.startswith(seen) else text
        state["text"] = text if text.startswith(seen) else seen + text
        meta = event.get("meta_info") or {}
        finish = meta.get("finish_reason")
        result = Event(text=new)
        if finish:
            result.finish_reason = "length" if finish.get("type") == "length" else "stop"
            result.usage = Usage(prompt_tokens=int(meta.get("prompt_tokens") or 0),
                                 completion_tokens=int(meta.get("completion_tokens") or 0),
                                 cached_tokens=int(meta.get("cached_tokens") or 0))
        return result

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        return tokenize(self.upstream, self.model, text, add_special=add_special)
