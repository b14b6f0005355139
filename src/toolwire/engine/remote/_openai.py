"""What vLLM's, SGLang's and toolwire's servers share: OpenAI-style `/v1/models`, completion
chunks and the `/tokenize` route (`{"prompt", "add_special_tokens"}` ->
`{"tokens", "count", "max_model_len"}`)."""

from __future__ import annotations

from typing import Any

from toolwire.engine.base import Usage
from toolwire.engine.remote._http import Upstream
from toolwire.engine.remote.base import Event
from toolwire.errors import UpstreamError

__all__ = ["completion_event", "served_model", "tokenize"]


def served_model(upstream: Upstream, wanted: str | None) -> tuple[str, int]:
    """The id of the served model (`wanted` if it is served) and its context size (0 when
    the server does not tell)."""
    cards = upstream.get("/v1/models").get("data") or []
    if not cards:
        raise UpstreamError(f"upstream {upstream.base_url} serves no model")
    card = next((card for card in cards if card.get("id") == wanted), None)
    if wanted is not None and card is None:
        served = ", ".join(str(card.get("id")) for card in cards)
        raise UpstreamError(f"upstream {upstream.base_url} does not serve {wanted!r} (it serves {served})")
    card = card or cards[0]
    return str(card["id"]), int(card.get("max_model_len") or 0)


def completion_event(event: dict[str, Any]) -> Event:
    """One `text_completion` chunk: text and finish reason, or the usage chunk."""
    result = Event()
    choices = event.get("choices") or []
    if choices:
        result.text = str(choices[0].get("text") or "")
        result.finish_reason = choices[0].get("finish_reason")
        logprobs = [value for value in ((choices[0].get("logprobs") or {}).get("token_logprobs") or [])
                    if value is not None]
        result.logprob = min(logprobs) if logprobs else None
    usage = event.get("usage")
    if usage:
        details = usage.get("prompt_tokens_details") or {}
        result.usage = Usage(prompt_tokens=int(usage.get("prompt_tokens") or 0),
                             completion_tokens=int(usage.get("completion_tokens") or 0),
                             cached_tokens=int(details.get("cached_tokens") or 0))
    return result


def tokenize(upstream: Upstream, model: str | None, text: str, *, add_special: bool) -> list[int]:
    body: dict[str, Any] = {"prompt": text, "add_special_tokens": add_special}
    if model is not None:
        body["model"] = model
    return [int(token) for token in upstream.post("/tokenize", body).get("tokens", [])]
