"""llama.cpp's `llama-server`: `/completion` with a GBNF `grammar`.

    POST /completion {"prompt": ..., "stream": true, "cache_prompt": true,
                      "n_predict": ..., "temperature": ..., "top_k": ..., "repeat_last_n": ...,
                      "stop": [...], "grammar": "<GBNF>"}

`n_probs: 1` makes it report each token's log-probability under the model (raw logits),
which toolwire's `call_confidence` policy reads. The `gbnf` grammar (the default) is eager: it already lets free text run until the
format's trigger and constrains everything after it, and text can never carry an
unconstrained call. With `lazy-gbnf`, an `auto` turn whose format lets text come first is
sent the grammar of the calls from the trigger on, with llama.cpp's own lazy mechanism:

    "grammar": "<GBNF from the trigger>", "grammar_lazy": true,
    "grammar_triggers": [{"type": 0, "value": "<tool_call>", "token": 151657}],   (a token)
                     or [{"type": 1, "value": "[TOOL_CALLS]"}],                    (a word)
    "preserved_tokens": ["<tool_call>"]

so text before the trigger is sampled without a grammar (faster; such text is then
unconstrained, and read as content). Every other turn gets the eager grammar.

`/props` tells the context size and the chat template; `/tokenize` counts tokens and finds
the special tokens of a format's markers. A raw Lark grammar cannot be sent (llama-server
takes GBNF, or Lark only when built with LLAMA_LLGUIDANCE): `ConstraintUnsupported`.
"""

from __future__ import annotations

from typing import Any

from toolwire.constrain import Constraint, LarkConstraint, ToolCallConstraint
from toolwire.constrain.builder import triggered_calls_grammar
from toolwire.constrain.gbnf import gbnf_grammar, render_gbnf
from toolwire.engine.base import ConstraintUnsupported, Usage
from toolwire.engine.remote.base import Event, RemoteEngine
from toolwire.engine.remote.sampling import sampling_fields
from toolwire.engine.sampling import SamplingParams

__all__ = ["LlamaServerEngine"]

_TRIGGER_TOKEN = 0
_TRIGGER_WORD = 1
"""llama.cpp's `common_grammar_trigger_type` values for a token and a word trigger."""


class LlamaServerEngine(RemoteEngine):
    """A `llama-server` upstream."""

    dialect = "llama.cpp"
    path = "/completion"
    grammars = ("gbnf", "lazy-gbnf")
    needs_max_tokens = False

    def connect(self) -> None:
        self.props: dict[str, Any] = self.upstream.get("/props")
        self.n_ctx = int((self.props.get("default_generation_settings") or {}).get("n_ctx") or 0)
        if self.model is None:  # llama-server's alias is the model's path unless --alias was given
            alias = str(self.props.get("model_alias") or self.props.get("model_path") or "llama-server")
            self.model = alias.rstrip("/").rsplit("/", 1)[-1]

    def chat_template(self) -> tuple[str | None, str, str]:
        """The served model's chat template (None if it has none) and its BOS/EOS texts."""
        template = self.props.get("chat_template_tool_use") or self.props.get("chat_template") or None
        return template, str(self.props.get("bos_token") or ""), str(self.props.get("eos_token") or "")

    def request(self, prompt: str, sampling: SamplingParams, constraint: Constraint | None,
                max_tokens: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": prompt, "stream": True, "cache_prompt": True,
                                **sampling_fields(sampling, "llama.cpp", max_tokens=max_tokens), "n_probs": 1}
        if isinstance(constraint, LarkConstraint):
            raise ConstraintUnsupported(
                "grammar: llama-server takes GBNF grammars; a Lark grammar cannot be sent to it")
        if constraint is not None:
            body.update(self.grammar_fields(constraint))
        return body

    def grammar_fields(self, constraint: Constraint) -> dict[str, Any]:
        """`grammar`, and with `lazy-gbnf` where the turn allows it the lazy fields."""
        triggered = (triggered_calls_grammar(constraint, self.vocabulary)
                     if self.grammar == "lazy-gbnf" and isinstance(constraint, ToolCallConstraint) else None)
        if triggered is None:
            return {"grammar": gbnf_grammar(constraint, self.vocabulary)}
        trigger = constraint.syntax.trigger_text()
        token = self.vocabulary.special_tokens.get(trigger)
        fields: dict[str, Any] = {"grammar": render_gbnf(triggered), "grammar_lazy": True}
        if token is not None:
            fields["grammar_triggers"] = [{"type": _TRIGGER_TOKEN, "value": trigger, "token": token}]
            fields["preserved_tokens"] = [trigger]
        else:
            fields["grammar_triggers"] = [{"type": _TRIGGER_WORD, "value": trigger}]
        return fields

    def read_event(self, event: dict[str, Any], state: dict[str, Any]) -> Event:
        if not event.get("stop"):
            return Event(text=str(event.get("content") or ""), logprob=_least_logprob(event))
        usage = Usage(prompt_tokens=int(event.get("tokens_evaluated") or 0),
                      completion_tokens=int(event.get("tokens_predicted") or 0),
                      cached_tokens=int((event.get("timings") or {}).get("cache_n") or 0))
        reason = "length" if event.get("stop_type") == "limit" else "stop"
        return Event(text=str(event.get("content") or ""), finish_reason=reason, usage=usage)

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        answer = self.upstream.post("/tokenize", {"content": text, "add_special": add_special, "parse_special": True})
        return [int(token) for token in answer.get("tokens", [])]


def _least_logprob(event: dict[str, Any]) -> float | None:
    """The least log-probability of the event's tokens under the model (`n_probs` makes
    llama-server report it from the raw logits, before samplers and grammar)."""
    values = [float(entry["logprob"]) for entry in event.get("completion_probabilities") or []
              if isinstance(entry, dict) and entry.get("logprob") is not None]
    return min(values) if values else None
