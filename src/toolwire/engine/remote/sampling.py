"""toolwire's `SamplingParams` in each engine server's own field names: the one place
that knows them.

Every option is sent explicitly, because the servers' defaults differ from toolwire's
(llama.cpp samples at temperature 0.8 with top_k 40 unless told; vLLM and SGLang at 1.0);
an option a server writes as "off" differently is translated (SGLang's top_k off is -1)
or left out where leaving it out means off. `penalty_window` exists only in llama.cpp
(`repeat_last_n`); vLLM and SGLang apply penalties over the whole output.
"""

from __future__ import annotations

from typing import Any, Literal

from toolwire.engine.sampling import SamplingParams

__all__ = ["Dialect", "SAMPLING_NAMES", "sampling_fields"]

Dialect = Literal["llama.cpp", "vllm", "sglang", "toolwire"]

SAMPLING_NAMES: dict[str, dict[str, str | None]] = {
    # toolwire field        llama.cpp /completion   vLLM /v1/completions    SGLang /generate        toolwire /v1/completions
    "max_tokens":        {"llama.cpp": "n_predict", "vllm": "max_tokens", "sglang": "max_new_tokens", "toolwire": "max_tokens"},
    "temperature":       {"llama.cpp": "temperature", "vllm": "temperature", "sglang": "temperature", "toolwire": "temperature"},
    "top_p":             {"llama.cpp": "top_p", "vllm": "top_p", "sglang": "top_p", "toolwire": "top_p"},
    "top_k":             {"llama.cpp": "top_k", "vllm": "top_k", "sglang": "top_k", "toolwire": "top_k"},
    "min_p":             {"llama.cpp": "min_p", "vllm": "min_p", "sglang": "min_p", "toolwire": "min_p"},
    "repeat_penalty":    {"llama.cpp": "repeat_penalty", "vllm": "repetition_penalty", "sglang": "repetition_penalty",
                          "toolwire": "repeat_penalty"},
    "penalty_window":    {"llama.cpp": "repeat_last_n", "vllm": None, "sglang": None, "toolwire": None},
    "presence_penalty":  {"llama.cpp": "presence_penalty", "vllm": "presence_penalty", "sglang": "presence_penalty",
                          "toolwire": "presence_penalty"},
    "frequency_penalty": {"llama.cpp": "frequency_penalty", "vllm": "frequency_penalty", "sglang": "frequency_penalty",
                          "toolwire": "frequency_penalty"},
    "seed":              {"llama.cpp": "seed", "vllm": "seed", "sglang": "sampling_seed", "toolwire": "seed"},
    "stop":              {"llama.cpp": "stop", "vllm": "stop", "sglang": "stop", "toolwire": "stop"},
}
"""toolwire's sampling field -> its name in each dialect (None: the dialect has none)."""

_TOP_K_OFF: dict[str, int | None] = {"llama.cpp": 0, "vllm": None, "sglang": -1, "toolwire": 0}
"""How each dialect writes top_k "off" (None: by leaving it out)."""


def sampling_fields(sampling: SamplingParams, dialect: Dialect, *, max_tokens: int | None) -> dict[str, Any]:
    """The request fields for `sampling` in `dialect`; `max_tokens` is the limit to send
    (None: no limit, for the dialects where that means "until the context is full")."""
    values: dict[str, Any] = {
        "max_tokens": max_tokens, "temperature": sampling.temperature, "top_p": sampling.top_p,
        "top_k": sampling.top_k or _TOP_K_OFF[dialect], "min_p": sampling.min_p,
        "repeat_penalty": sampling.repeat_penalty, "penalty_window": sampling.penalty_window,
        "presence_penalty": sampling.presence_penalty, "frequency_penalty": sampling.frequency_penalty,
        "seed": sampling.seed, "stop": list(sampling.stop),
    }
    fields: dict[str, Any] = {}
    for field, value in values.items():
        name = SAMPLING_NAMES[field][dialect]
        if name is not None and value is not None:
            fields[name] = value
    return fields
