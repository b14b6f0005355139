"""Remote engines: toolwire renders, constrains and parses; another server generates.

Each implements the `Engine` contract over the upstream's own completion API, with the
prompt toolwire rendered and the grammar toolwire built in that server's dialect:

    llama.cpp  llamacpp.py  llama-server /completion, GBNF `grammar`
    vllm       vllm.py      /v1/completions, `structured_outputs` (structural tag, Lark or EBNF)
    sglang     sglang.py    /generate, `ebnf` / `structural_tag` (or Lark for llguidance)
    toolwire   toolwire.py  another toolwire server's /v1/completions with a Lark `grammar`

`_http.py` is the HTTP client they share (streams, timeouts, upstream errors);
`sampling.py` maps toolwire's sampling options to each dialect's field names.
"""

from __future__ import annotations

import importlib
from typing import Any

from toolwire.engine.remote.base import RemoteEngine

__all__ = ["KINDS", "RemoteEngine", "remote_engine"]

_ENGINES: dict[str, tuple[str, str]] = {
    "llama.cpp": ("toolwire.engine.remote.llamacpp", "LlamaServerEngine"),
    "vllm": ("toolwire.engine.remote.vllm", "VllmEngine"),
    "sglang": ("toolwire.engine.remote.sglang", "SglangEngine"),
    "toolwire": ("toolwire.engine.remote.toolwire", "ToolwireEngine"),
}
KINDS: tuple[str, ...] = tuple(_ENGINES)


def remote_engine(url: str, kind: str, **options: Any) -> RemoteEngine:
    """The engine for an upstream of `kind` at `url`; `options` are the engine's
    (`model`, `api_key`, `timeout`, `grammar`: the grammar form, see each engine's
    `grammars`). Connects now: an unreachable upstream raises `UpstreamError`."""
    if kind not in _ENGINES:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    module, name = _ENGINES[kind]
    engine: type[RemoteEngine] = getattr(importlib.import_module(module), name)
    return engine(url, **options)
