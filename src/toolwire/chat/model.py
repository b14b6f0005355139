"""`ChatModel`: an engine and the wire format its model speaks, answering OpenAI chat
requests; `load()` makes one from a packaged model, a GGUF path or `hf:` reference."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from toolwire.chat.policies import Policies, parse_policies
from toolwire.chat.request import build_request
from toolwire.chat.response import ResponseShape, TurnUsage
from toolwire.chat.turn import Turn
from toolwire.engine.base import Engine
from toolwire.engine.sampling import sampling_params
from toolwire.formats.base import Format, RenderOptions

__all__ = ["ChatModel", "load"]


class ChatModel:
    """A model + the wire format it speaks. `chat` answers like OpenAI's chat completions.
    `policies` are the defaults of every request (see `toolwire.chat.policies`);
    `turn_listeners` are told the tokens of every turn that ends (answered, cut, or closed
    early), e.g. by the server's metrics."""

    def __init__(self, engine: Engine, format: Format, name: str, *, policies: Policies | None = None) -> None:
        self.engine = engine
        self.format = format
        self.name = name
        self.policies = policies or Policies()
        self.turn_listeners: list[Callable[[TurnUsage], None]] = []

    def chat(
        self,
        messages: Any,
        *,
        tools: Any = None,
        tool_choice: Any = None,
        parallel_tool_calls: bool | None = True,
        functions: Any = None,
        function_call: Any = None,
        response_format: Mapping[str, Any] | None = None,
        stream: bool = False,
        include_usage: bool = False,
        namespaces: Mapping[str, str] | None = None,
        policies: Policies | Mapping[str, Any] | None = None,
        thinking: bool | None = None,
        reasoning_effort: str | None = None,
        cancel: threading.Event | None = None,
        **sampling: Any,
    ) -> dict[str, Any] | Iterator[dict[str, Any]]:
        """Answer a chat request. Returns an OpenAI `chat.completion` dict, or with `stream`
        an iterator of `chat.completion.chunk` dicts (closing it stops generation).

        `sampling`: the options of `toolwire.engine.sampling.SamplingParams` (temperature,
        top_p, top_k, min_p, penalties, seed, max_tokens, stop); `policies`: settings that
        override this model's `policies` for this request; `thinking` / `reasoning_effort`:
        for templates of reasoning models that take them; `cancel`: set from any thread, it
        stops the turn before its next token (`Cancelled` is raised). Bad values raise
        `RequestError` naming the field."""
        request = build_request(
            messages, tools=tools, tool_choice=tool_choice, parallel_tool_calls=parallel_tool_calls,
            functions=functions, function_call=function_call, response_format=response_format,
            namespaces=namespaces, sampling=sampling_params(**sampling),
            policies=parse_policies(policies, self.policies, field="policies"),
            thinking=thinking, reasoning_effort=reasoning_effort,
        )
        turn = Turn(self.engine, self.format, request, cancel)
        shape = ResponseShape(self.name, legacy_functions=request.legacy_functions)
        if stream:
            return _chunks(turn, shape, include_usage, self._turn_ended)
        try:
            for _ in turn.events():
                pass
        finally:
            self._turn_ended(turn.usage)
        return shape.completion(turn.result, turn.finish_reason, turn.usage, turn.notes)

    def _turn_ended(self, usage: TurnUsage) -> None:
        for listener in self.turn_listeners:
            listener(usage)

    def render(self, messages: Any, tools: Any = None, *, namespaces: Mapping[str, str] | None = None) -> str:
        """The prompt this model would see for `messages` and `tools`."""
        request = build_request(messages, tools=tools, namespaces=namespaces)
        return self.format.render(request.messages, request.tools, RenderOptions(namespaces=request.namespaces))


def _chunks(turn: Turn, shape: ResponseShape, include_usage: bool,
            ended: Callable[[TurnUsage], None]) -> Iterator[dict[str, Any]]:
    """The chunks of a streamed answer: the role, one per event, the finish reason, usage.
    The first chunk waits for the first event, so a request the engine refuses (a prompt
    longer than the context) raises before anything is sent."""
    events = turn.events()
    try:
        first = next(events, None)
        yield shape.chunk({"role": "assistant", "content": ""})
        if first is not None:
            yield shape.chunk(shape.delta(first))
        for event in events:
            yield shape.chunk(shape.delta(event))
    finally:
        events.close()
        turn.close()
        ended(turn.usage)
    yield from shape.final_chunks(turn.finish_reason, turn.usage if include_usage else None, turn.notes)


def load(model: str | Path = "qwen2.5-coder-0.5b", *, format: str | None = None, n_ctx: int = 4096,
         n_threads: int | None = None, policies: Policies | Mapping[str, Any] | None = None,
         slots: int = 1) -> ChatModel:
    """Load a packaged model by name, a local GGUF path, or `hf:owner/repo/file.gguf`.

    `format` None picks the format from the GGUF chat template: a template with a tool-call
    syntax renders itself (`jinja`) and is parsed by the detected format; a ChatML template
    without one (SmolLM2's) uses `chatml-functions`; anything else `generic`. `policies`:
    the model's default policy settings. `slots` > 1: that many generations decode together
    in one batch (`engine.batched`), each with a context of `n_ctx` tokens."""
    from toolwire.engine.llamacpp import LlamaEngine
    from toolwire.formats.choice import choose_format
    from toolwire.models import resolve_model

    path = resolve_model(str(model))
    if slots > 1:
        from toolwire.engine.batched import BatchedLlamaEngine

        engine: Engine = BatchedLlamaEngine(path, slots=slots, n_ctx=n_ctx, n_threads=n_threads)
    else:
        engine = LlamaEngine(path, n_ctx=n_ctx, n_threads=n_threads)
    return ChatModel(engine, choose_format(path, format), name=str(model), policies=parse_policies(policies))
