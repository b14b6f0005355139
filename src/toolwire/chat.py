"""A loaded model that answers OpenAI chat requests: request -> format renders the prompt ->
engine generates under the format's constraint -> format's parser -> OpenAI response.

Two policies live here because they are about requests, not formats or engines:

* **Auto routing.** Small models rarely write their template's trigger (Qwen2.5-Coder
  answers with ```json fences, see FINDINGS.md), so under `tool_choice="auto"` the grammar
  alone would leave them in free text. Before generating, toolwire reads the model's own
  unconstrained, greedy opening (a few tokens, reusing the prompt's KV cache): if it opens
  structured output (the trigger, `{`, `[`, `<`, a code fence) that names one of the
  request's tools, the turn is generated under the calls grammar (`required`); structured
  output naming no tool makes the turn text that may not open that way; prose runs the
  `auto` grammar (text, calls after the trigger). `auto_routing=False` turns this off.
* **Grounded parallel calls.** After a call, the model's greedy path is a separator and
  another call, even when the question asked for one (FINDINGS.md #2); its end-of-turn
  token comes only after the separator. So the grammar continues to a next call, and a
  further call is kept only if it is new and grounded: it repeats no earlier call, and one
  of its string or number values appears in the conversation and in no earlier call. The first call that fails ends the turn; its text is dropped
  (`parallel_policy="free"` keeps every call).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from toolwire.constrain import Constraint, ToolCallConstraint, lark_grammar, response_format_constraint
from toolwire.engine.base import Engine, Generation
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import RequestError, SchemaError
from toolwire.formats.base import Format, RenderOptions
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, Event, StreamParser
from toolwire.types import (
    AssistantMessage,
    Message,
    ParsedCall,
    ParsedMessage,
    Tool,
    ToolChoice,
    message_text,
    parse_messages,
    parse_tool_choice,
    parse_tools,
    tools_from_functions,
)

__all__ = ["ChatModel", "ChatRequest", "load"]

PROBE_TOKENS = 24
_STRUCTURED_OPENINGS = ("{", "[", "`", "<")


@dataclass
class ChatRequest:
    """A validated chat request."""

    messages: list[Message]
    tools: list[Tool]
    schemas: dict[str, dict[str, Any]]
    tool_choice: ToolChoice
    parallel_tool_calls: bool = True
    response_format: Mapping[str, Any] | None = None
    legacy_functions: bool = False
    sampling: SamplingParams = field(default_factory=SamplingParams)
    namespaces: Mapping[str, str] = field(default_factory=dict)


def build_request(
    messages: Any,
    *,
    tools: Any = None,
    tool_choice: Any = None,
    parallel_tool_calls: bool | None = True,
    functions: Any = None,
    function_call: Any = None,
    response_format: Mapping[str, Any] | None = None,
    namespaces: Mapping[str, str] | None = None,
    sampling: SamplingParams = SamplingParams(),
) -> ChatRequest:
    """Validate an OpenAI-shaped request; errors name the field."""
    parsed_messages = parse_messages(messages)
    if not parsed_messages:
        raise RequestError("messages: must contain at least one message", param="messages")
    legacy = functions is not None and tools is None
    parsed_tools = tools_from_functions(functions) if legacy else parse_tools(_as_data(tools))
    names = [tool.name for tool in parsed_tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RequestError(f"tools: duplicate tool name {duplicates[0]!r}", param="tools")
    field_name = "functions" if legacy else "tools"
    schemas = {
        tool.name: normalize_parameters(tool.function.parameters, where=f"{field_name}[{i}].function.parameters")
        for i, tool in enumerate(parsed_tools)
    }
    choice_data = _legacy_choice(function_call) if legacy else _as_data(tool_choice)
    choice = parse_tool_choice(choice_data, parsed_tools)
    return ChatRequest(
        messages=parsed_messages, tools=parsed_tools, schemas=schemas, tool_choice=choice,
        parallel_tool_calls=parallel_tool_calls is not False and not legacy,
        response_format=response_format, legacy_functions=legacy, sampling=sampling,
        namespaces=dict(namespaces or {}),
    )


def _as_data(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_data(item) for item in value]
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


def _legacy_choice(function_call: Any) -> Any:
    if isinstance(function_call, dict) and "name" in function_call:
        return {"type": "function", "function": {"name": function_call["name"]}}
    return function_call


class ChatModel:
    """A model + the wire format it speaks. `chat` answers like OpenAI's chat completions."""

    def __init__(self, engine: Engine, format: Format, name: str) -> None:
        self.engine = engine
        self.format = format
        self.name = name

    # -- public API ------------------------------------------------------------------

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
        constrained: bool = True,
        auto_routing: bool = True,
        parallel_policy: str = "grounded",
        describe_tools_when_none: bool = True,
        namespaces: Mapping[str, str] | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
        top_k: int = 0,
        min_p: float = 0.0,
        repeat_penalty: float = 1.0,
        presence_penalty: float = 0.0,
        frequency_penalty: float = 0.0,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> dict[str, Any] | Iterator[dict[str, Any]]:
        """Answer a chat request. Returns an OpenAI `chat.completion` dict, or with `stream`
        an iterator of `chat.completion.chunk` dicts (closing it cancels generation)."""
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        sampling = SamplingParams(
            temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p, repeat_penalty=repeat_penalty,
            presence_penalty=presence_penalty, frequency_penalty=frequency_penalty, max_tokens=max_tokens,
            seed=seed, stop=tuple(stops) + tuple(self.format.syntax.stops),
        )
        request = build_request(
            messages, tools=tools, tool_choice=tool_choice, parallel_tool_calls=parallel_tool_calls,
            functions=functions, function_call=function_call, response_format=response_format,
            namespaces=namespaces, sampling=sampling,
        )
        turn = _Turn(self, request, constrained=constrained, auto_routing=auto_routing,
                     grounded=parallel_policy == "grounded", describe_tools_when_none=describe_tools_when_none)
        turn.start()
        if stream:
            return turn.chunks(include_usage)
        return turn.completion()

    def render(self, messages: Any, tools: Any = None, *, namespaces: Mapping[str, str] | None = None) -> str:
        """The prompt this model would see for `messages` and `tools`."""
        request = build_request(messages, tools=tools, namespaces=namespaces)
        return self.format.render(request.messages, request.tools, RenderOptions(namespaces=request.namespaces))


class _Turn:
    """One assistant turn being generated."""

    def __init__(self, model: ChatModel, request: ChatRequest, *, constrained: bool, auto_routing: bool,
                 grounded: bool, describe_tools_when_none: bool) -> None:
        self.model = model
        self.request = request
        self.constrained = constrained
        self.auto_routing = auto_routing
        self.grounded = grounded
        self.describe_tools = request.tool_choice != "none" or describe_tools_when_none
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.generation: Generation | None = None

    @property
    def calls_allowed(self) -> bool:
        return bool(self.request.tools) and self.request.tool_choice != "none"

    def start(self) -> None:
        fmt = self.model.format
        options = RenderOptions(describe_tools=self.describe_tools, namespaces=self.request.namespaces)
        self.prompt = fmt.render(self.request.messages, self.request.tools, options)
        constraint = self._constraint(self.prompt)
        try:
            self.generation = self.model.engine.generate(self.prompt, sampling=self.request.sampling, constraint=constraint)
        except SchemaError as error:
            raise self._uncompilable_tool(error) from None

    def _restart_as_text(self) -> None:
        """Generate the turn again as text that may not open like a call."""
        constraint = ToolCallConstraint(
            syntax=self.model.format.syntax, tools=self.request.tools, schemas=self.request.schemas,
            tool_choice="none", plain_text_only=True)
        self.generation = self.model.engine.generate(self.prompt, sampling=self.request.sampling, constraint=constraint)

    def _uncompilable_tool(self, error: SchemaError) -> SchemaError:
        """Name the tool whose schema llguidance could not compile."""
        engine = self.model.engine
        if not hasattr(engine, "compile_grammar"):  # a remote engine compiles upstream
            return error
        for index, tool in enumerate(self.request.tools):
            grammar = lark_grammar(ToolCallConstraint(
                syntax=self.model.format.syntax, tools=[tool], schemas=self.request.schemas, tool_choice="required"),
                engine.vocabulary)
            try:
                engine.compile_grammar(grammar)
            except SchemaError as specific:
                where = f"{'functions' if self.request.legacy_functions else 'tools'}[{index}].function.parameters"
                reason = str(specific).removeprefix("grammar: ").split("\n")[0]
                return SchemaError(f"{where}: the schema of tool {tool.name!r} cannot be compiled into a grammar: {reason}",
                                   param=where)
        return error

    def _constraint(self, prompt: str) -> Constraint | None:
        request = self.request
        if request.response_format and not self.calls_allowed:
            return response_format_constraint(request.response_format)
        if not self.constrained or not self.calls_allowed:
            return None
        choice = request.tool_choice
        plain_text_only = False
        if choice == "auto" and self.auto_routing:
            route = self._probe(prompt)
            if route == "call":
                choice = "required"
            elif route == "text":
                choice, plain_text_only = "none", True
        return ToolCallConstraint(
            syntax=self.model.format.syntax, tools=request.tools, schemas=request.schemas, tool_choice=choice,
            parallel_tool_calls=request.parallel_tool_calls, plain_text_only=plain_text_only,
        )

    def _probe(self, prompt: str) -> str:
        """Read the model's unconstrained opening: 'call', 'text' or 'auto' (see module doc)."""
        probe = self.model.engine.generate(prompt, sampling=SamplingParams(max_tokens=PROBE_TOKENS))
        text = ""
        names = [tool.name for tool in self.request.tools]
        structured = False
        for chunk in probe:
            text += chunk.text
            opening = text.lstrip()
            structured = opening.startswith(_STRUCTURED_OPENINGS) or self.model.format.syntax.trigger_text() in text
            if opening and not structured:
                break  # prose: the auto grammar lets it call later, after the trigger
            if _names_a_tool(text, names):
                probe.close()
                return "call"
        probe.close()
        return "text" if structured else "auto"

    # -- reading the generation -------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """Parser events, with calls held back until they are known to be kept.

        A first call that repeats one already answered in the conversation (the default
        model, given a tool result, calls the same tool again) is withheld, and the turn is
        generated again as text; the first call streams at once when there is no such
        history to repeat."""
        answered = self._answered_calls()
        for attempt in range(2):
            outcome = yield from self._read(answered if attempt == 0 else set())
            if outcome != "repeat":
                return
            self._restart_as_text()

    def _read(self, answered: set[tuple[str, str]]) -> Iterator[Event]:
        assert self.generation is not None
        parser = StreamParser(self.model.format, self.request.tools)
        first_held = 0 if answered else 1
        held: list[Event] = []
        kept = 0
        accepted_text = ""
        outcome = "done"
        try:
            for chunk in self.generation:
                for event in parser.feed(chunk.text):
                    if self.calls_allowed and _event_index(event) >= max(kept, first_held):
                        held.append(event)
                    else:
                        yield event
                if not self.calls_allowed:
                    continue
                current = self.model.format.parse(parser.text, partial=True, tools=self.request.tools)
                complete = [call for call in current.calls if call.complete]
                while len(complete) > kept:
                    call = complete[kept]
                    if kept == 0 and (call.name, _canonical(call.arguments)) in answered:
                        return "repeat"
                    if kept >= 1 and self.grounded and not self._grounded(call, complete[:kept]):
                        outcome = "stopped"
                        break
                    kept += 1
                    accepted_text = parser.text
                    yield from (e for e in held if _event_index(e) < kept)
                    held = [e for e in held if _event_index(e) >= kept]
                if outcome == "stopped":
                    break
        finally:
            self.generation.close()
        if outcome == "stopped":
            self.result = self.model.format.parse(accepted_text, tools=self.request.tools)
            for call, call_id in zip(self.result.calls, parser.ids):
                call.id = call_id
            self.finish_reason = "tool_calls"
            return outcome
        held += parser.finish()
        self.result = parser.result or ParsedMessage()
        if not self.calls_allowed:
            self.result = ParsedMessage(content=parser.text)
        # held calls that never completed (cut off by max_tokens) end as content, not calls
        yield from (e for e in held if _event_index(e) < len(self.result.calls))
        reason = self.generation.finish_reason
        self.finish_reason = "tool_calls" if self.result.calls else ("length" if reason == "length" else "stop")
        return outcome

    def _answered_calls(self) -> set[tuple[str, str]]:
        """(name, canonical arguments) of calls in the conversation that got a result."""
        if self.request.tool_choice != "auto":
            return set()
        answered_ids = {m.tool_call_id for m in self.request.messages if m.role == "tool"}
        answered_names = {m.name for m in self.request.messages if m.role in ("tool", "function")}
        calls: set[tuple[str, str]] = set()
        for message in self.request.messages:
            if isinstance(message, AssistantMessage):
                for index, call in enumerate(message.calls()):
                    call_id = message.tool_calls[index].id if message.tool_calls else None
                    if call_id in answered_ids or call.name in answered_names:
                        calls.add((call.name, _canonical(call.arguments)))
        return calls

    def _grounded(self, call: ParsedCall, earlier: Sequence[ParsedCall]) -> bool:
        """Whether a further call of this turn is worth keeping: it repeats no earlier call,
        and (if it has string or number values) one of them occurs in the conversation and
        in no earlier call. Variations that reuse values already used, or values the model
        made up, end the turn."""
        arguments = _decoded(call.arguments)
        if any(call.name == other.name and arguments == _decoded(other.arguments) for other in earlier):
            return False
        values = {value.lower() for value in _leaf_values(arguments)}
        if not values:
            return True
        history = [call.arguments for m in self.request.messages if isinstance(m, AssistantMessage) for call in m.calls()]
        used = {value.lower() for arguments in [other.arguments for other in earlier] + history
                for value in _leaf_values(_decoded(arguments))}
        conversation = " ".join(message_text(m.content).lower() for m in self.request.messages if m.role != "assistant")
        return any(_appears(value, conversation) for value in values - used)

    # -- responses --------------------------------------------------------------------

    def _message(self) -> dict[str, Any]:
        result = self.result
        message: dict[str, Any] = {"role": "assistant", "content": result.content or None}
        calls = [{"id": call.id or self.model.format.new_call_id(), "type": "function",
                  "function": {"name": call.name, "arguments": call.arguments}} for call in result.calls]
        if calls and self.request.legacy_functions:
            message["function_call"] = calls[0]["function"]
        elif calls:
            message["tool_calls"] = calls
        return message

    def _finish_reason(self) -> str:
        if self.finish_reason == "tool_calls" and self.request.legacy_functions:
            return "function_call"
        return self.finish_reason

    def _usage(self) -> dict[str, Any]:
        assert self.generation is not None
        usage = self.generation.usage
        return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.prompt_tokens + usage.completion_tokens,
                "prompt_tokens_details": {"cached_tokens": usage.cached_tokens}}

    def completion(self) -> dict[str, Any]:
        for _ in self.events():
            pass
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model.name,
            "choices": [{"index": 0, "message": self._message(), "finish_reason": self._finish_reason(), "logprobs": None}],
            "usage": self._usage(),
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model.name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}

    def chunks(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        yield self._chunk({"role": "assistant", "content": ""})
        legacy = self.request.legacy_functions
        try:
            for event in self.events():
                if isinstance(event, ContentDelta):
                    yield self._chunk({"content": event.text})
                elif isinstance(event, CallStart):
                    if legacy:
                        yield self._chunk({"function_call": {"name": event.name, "arguments": ""}})
                    else:
                        yield self._chunk({"tool_calls": [{"index": event.index, "id": event.id, "type": "function",
                                                           "function": {"name": event.name, "arguments": ""}}]})
                elif isinstance(event, ArgumentsDelta):
                    if legacy:
                        yield self._chunk({"function_call": {"arguments": event.text}})
                    else:
                        yield self._chunk({"tool_calls": [{"index": event.index, "function": {"arguments": event.text}}]})
        finally:
            if self.generation is not None:
                self.generation.close()
        yield self._chunk({}, self._finish_reason())
        if include_usage:
            chunk = self._chunk({})
            chunk["choices"] = []
            chunk["usage"] = self._usage()
            yield chunk


def _event_index(event: Event) -> int:
    return -1 if isinstance(event, ContentDelta) else event.index


def _names_a_tool(text: str, names: Sequence[str]) -> bool:
    return any(re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w])", text) for name in names)


def _canonical(arguments: str) -> str:
    return json.dumps(_decoded(arguments), sort_keys=True)


def _decoded(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments


def _leaf_values(value: Any) -> Iterator[str]:
    """String and number leaves of decoded arguments, as text."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaf_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaf_values(item)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        yield f"{value:g}" if isinstance(value, float) else str(value)
    elif isinstance(value, str) and value.strip():
        yield value


def _appears(value: str, conversation: str) -> bool:
    """Whether a value, or one of its words of 3+ letters, occurs in the conversation as a
    whole token: `6` does not occur in `36`, nor `2.5` in `12.5`."""
    value = value.lower()
    if re.search(r"(?<![\w.])" + re.escape(value) + r"(?![\w]|\.\d)", conversation):
        return True
    words = [word for word in re.findall(r"\w+", value) if len(word) >= 3 and not word.isdigit()]
    return any(re.search(r"\b" + re.escape(word) + r"\b", conversation) for word in words)


def load(model: str | Path = "qwen2.5-coder-0.5b", *, format: str | None = None, n_ctx: int = 4096,
         n_threads: int | None = None) -> ChatModel:
    """Load a packaged model by name, a local GGUF path, or `hf:owner/repo/file.gguf`.

    `format` None picks the format from the GGUF chat template: a template with a tool-call
    syntax renders itself (`jinja`) and is parsed by the detected format; a ChatML template
    without one (SmolLM2's) uses `chatml-functions`; anything else `generic`."""
    from toolwire.engine.llamacpp import LlamaEngine
    from toolwire.formats.choice import choose_format
    from toolwire.models import resolve_model

    path = resolve_model(str(model))
    engine = LlamaEngine(path, n_ctx=n_ctx, n_threads=n_threads)
    return ChatModel(engine, choose_format(path, format), name=str(model))
