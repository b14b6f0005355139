"""Where the agent loop's chat turns come from: a model loaded in this process, or any
OpenAI-compatible endpoint through the `openai` client. Both answer one question: given the
conversation and tools, what is the assistant's next message (an OpenAI message dict)?
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

from toolwire.engine.sampling import OPENAI_SAMPLING_FIELDS
from toolwire.errors import RequestError

__all__ = ["Backend", "ClientBackend", "LocalBackend", "load_model", "resolve_backend", "split_options"]


@runtime_checkable
class Backend(Protocol):
    """One method: the assistant's reply to `messages`, as an OpenAI message dict."""

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]],
        tool_choice: Any,
        namespaces: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]: ...


class LocalBackend:
    """A loaded `toolwire` model (anything with `chat(messages, **options)` returning a
    chat.completion dict), run in a worker thread so the event loop stays free."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def _chat(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
        with _generating:  # llama.cpp contexts are not thread-safe: one generation at a time
            return self.model.chat(messages, **kwargs)

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]],
        tool_choice: Any,
        namespaces: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        kwargs = dict(options)
        if tools:
            kwargs.update(tools=tools, tool_choice=tool_choice, namespaces=dict(namespaces))
        completion = await asyncio.to_thread(self._chat, list(messages), kwargs)
        return completion["choices"][0]["message"]


# Request fields of OpenAI's chat completions API (its sampling options, from the one list
# in engine/sampling.py, and the rest); other options go in `extra_body`.
_OPENAI_FIELDS = OPENAI_SAMPLING_FIELDS | frozenset(
    {
        "logit_bias", "max_completion_tokens", "metadata", "n", "parallel_tool_calls", "reasoning_effort",
        "response_format", "service_tier", "store", "user",
    }
)


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(OpenAI request fields, everything else for `extra_body`), e.g. `top_k` or
    `constrained` go to the server as extra fields."""
    standard = {key: value for key, value in options.items() if key in _OPENAI_FIELDS}
    extra = {key: value for key, value in options.items() if key not in _OPENAI_FIELDS}
    return standard, extra


class ClientBackend:
    """An OpenAI-compatible endpoint through an `openai.OpenAI` or `openai.AsyncOpenAI`.
    `model` names the served model; None asks the endpoint (`/v1/models`, first entry).
    Namespace descriptions are not sent: OpenAI's API has no field for them."""

    def __init__(self, client: Any, model: str | None = None) -> None:
        self.client = client
        self.model = model

    async def _call(self, method: Any, **kwargs: Any) -> Any:
        if inspect.iscoroutinefunction(method):
            return await method(**kwargs)
        return await asyncio.to_thread(lambda: method(**kwargs))

    async def _model_name(self) -> str:
        if self.model is None:
            page = await self._call(self.client.models.list)
            models = page.data if hasattr(page, "data") else [item async for item in page]
            if not models:
                raise RequestError("model: the endpoint lists no models; pass model=...", param="model")
            self.model = models[0].id
        return self.model

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]],
        tool_choice: Any,
        namespaces: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        standard, extra = split_options(options)
        body: dict[str, Any] = {"model": await self._model_name(), "messages": list(messages), **standard}
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if extra:
            body["extra_body"] = extra
        response = await self._call(self.client.chat.completions.create, **body)
        data = response.model_dump(exclude_none=True) if hasattr(response, "model_dump") else response
        return data["choices"][0]["message"]


_generating = threading.Lock()
_loaded: dict[str, Any] = {}
_loading = threading.Lock()


def load_model(name: str | Path | None = None) -> Any:
    """`toolwire.chat.load(name)` (None: the default model), keeping the most recently
    loaded model so repeated runs on the same name do not reload it."""
    from toolwire.chat import load

    key = str(name) if name is not None else ""
    with _loading:
        if key not in _loaded:
            _loaded.clear()  # hold one model at a time
            _loaded[key] = load(name) if name is not None else load()
        return _loaded[key]


def resolve_backend(*, model: Any = None, client: Any = None, base_url: str | None = None) -> Backend:
    """The backend for `run`'s arguments: a `Backend` passed as `model` is used as is; with
    `client` or `base_url`, `model` is the served model's name; otherwise `model` is a
    loaded model, a model name or .gguf path, or None for the default model."""
    if isinstance(model, Backend) and not hasattr(model, "chat"):
        return model
    if client is not None or base_url is not None:
        if client is not None and base_url is not None:
            raise RequestError("give either client= or base_url=, not both", param="base_url")
        if model is not None and not isinstance(model, str):
            raise RequestError("model: with client= or base_url=, model is the served model's name", param="model")
        if client is None:
            import openai

            client = openai.OpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or "toolwire")
        return ClientBackend(client, model)
    if model is None or isinstance(model, (str, Path)):
        return LocalBackend(load_model(model))
    if callable(getattr(model, "chat", None)):
        return LocalBackend(model)
    raise RequestError(f"model: {model!r} is neither a model name nor a loaded model", param="model")
