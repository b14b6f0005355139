"""Request policies: where toolwire changes what a model wrote, and the rules it follows.

Every policy is named here, typed (`Policies`), documented in the README and settable per
request (Python: `model.chat(..., policies={...})`; HTTP: the body object `"toolwire":
{...}`, which other servers ignore; server-wide defaults: `toolwire serve` flags). Each
decision is a pure function of the conversation, the model's output and (where the
policy consults the model) its own next-token probabilities, so each is unit-tested on
hand-made cases. What a policy did to a turn is reported in the response (`toolwire.notes`).

* `call_syntax`: under `tool_choice="auto"` small models often call a tool in a syntax
  of their own instead of their template's (Qwen2.5-Coder writes a ```` ```json ````
  fence: FINDINGS.md #1). `repair` (default) watches the model's text as it is written; a
  call-shaped JSON object naming one of the request's tools (bare, or in a json fence) is
  the model's choice to call, so that text is set aside and the model writes the call
  again under the calls grammar. The call is kept when the model writes it confidently
  (see `call_confidence`); otherwise the model's own text stays, as content. Nothing else
  is held back longer than it takes to see it is not such an object: markdown, code and
  thinking are never refused. `keep` leaves such text as content. `probe` is the first
  version's rule (a greedy 24-token probe decides call or text before the turn and
  forbids a text that opens like structured output), kept for comparison.
* `parallel_calls`: after a call, Qwen2.5's greedy path writes a newline and ends the
  turn, even for "Paris and Tokyo" (FINDINGS.md #2): the model does not choose further
  calls, in formats whose call block has no closing marker. `confident` (default): toolwire
  offers a further call (the model writes it under the grammar) and keeps it when it
  repeats no call of the turn and the model wrote it confidently (`call_confidence`); the
  first further call that fails ends the turn, where the model itself preferred to end.
  Calls whose values the model copies from the conversation pass; values it has to guess
  do not. `model`: only the calls the model chooses itself (it continues where its own
  odds of a further call beat those of ending). `grounded`: the first version's rule
  (keep a further call when one of its values occurs in the conversation and in no
  earlier call), kept for comparison. Formats whose call block closes (`]`) let the model
  choose between a further call and the end under the grammar, and need none of this.
* `call_confidence`: the probability the model must have given each content token it
  chose (a token with a letter or digit, where the grammar allowed others) in a call
  toolwire asked for (a repaired or a further call). 
* `schemas`: a tool schema no value can satisfy or the grammar engine cannot compile
  (an integer with string `enum` values, `minimum` above `maximum`, a lookaround
  `pattern`...). `relax` (default) drops the offending keyword, or leaves that tool's
  arguments as any JSON object, and names the change (`toolwire.schema.relax`); `strict`
  refuses the request with an error naming the tool.
* `repeat_calls`: given a tool result, small models call the same tool with the same
  arguments again. `withhold` (default) sets such a first call aside and generates the
  turn again as text, except when the last tool result was an error or a user message is
  newer than the last tool result (a retry, or a question asked again). `allow` keeps it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolwire.errors import RequestError
from toolwire.types import AssistantMessage, Message, ParsedCall, message_text

__all__ = [
    "CallSyntaxPolicy",
    "Opening",
    "ParallelPolicy",
    "Policies",
    "RepeatPolicy",
    "SchemaPolicy",
    "answered_calls",
    "canonical_arguments",
    "classify_opening",
    "confidence",
    "confident",
    "continue_calls",
    "grounded",
    "is_error_result",
    "is_repeat",
    "named_tool",
    "names_a_tool",
    "parse_policies",
    "repeat_exempt",
    "repeats_a_call",
]

CallSyntaxPolicy = Literal["repair", "keep", "probe"]
ParallelPolicy = Literal["confident", "model", "grounded"]
RepeatPolicy = Literal["withhold", "allow"]
SchemaPolicy = Literal["relax", "strict"]

DEFAULT_CALL_CONFIDENCE = 0.5


class Policies(BaseModel):
    """The per-request policy settings (`"toolwire": {...}` over HTTP).

    `constrained`: generate under the grammar (False: the model writes freely and the
    format's parser reads it, as an unconstrained server would). `describe_tools_when_none`:
    with `tool_choice="none"`, still describe the tools in the prompt.
    `thinking_budget`: most tokens a reasoning model may think before its thinking block
    is closed for it (None: no limit)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    constrained: bool = Field(True, description="generate under the grammar")
    call_syntax: CallSyntaxPolicy = Field("repair", description="calls the model writes in a syntax of its own")
    parallel_calls: ParallelPolicy = Field("confident", description="further calls after the first")
    call_confidence: float = Field(DEFAULT_CALL_CONFIDENCE, gt=0, le=1,
                                   description="least probability of each value token in a call toolwire asked for")
    repeat_calls: RepeatPolicy = Field("withhold", description="a first call repeating one already answered")
    schemas: SchemaPolicy = Field("relax", description="tool schemas a grammar cannot enforce")
    describe_tools_when_none: bool = Field(True, description="describe the tools when tool_choice is none")
    thinking_budget: int | None = Field(None, ge=0, description="most tokens of thinking before the block is closed")


def parse_policies(value: Any, defaults: Policies | None = None, *, field: str = "toolwire") -> Policies:
    """`value` (a mapping, a `Policies` or None) over `defaults`; a `RequestError` naming
    the field (`toolwire.parallel_calls`) for an unknown key or a bad value."""
    base = defaults or Policies()
    if value is None:
        return base
    if isinstance(value, Policies):
        return value
    if not isinstance(value, Mapping):
        raise RequestError(f"{field}: must be an object of policy settings", param=field)
    try:
        return Policies(**{**base.model_dump(), **value})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f"{field}.{'.'.join(str(part) for part in first['loc'])}"
        message = "unknown policy setting" if first["type"] == "extra_forbidden" else first["msg"]
        raise RequestError(f"{where}: {message}", param=where) from None


# -- call_syntax: calls the model writes in a syntax of its own ----------------------------------

Opening = Literal["call", "text", "undecided"]
NAME_KEYS = ("name", "function", "tool", "tool_name")
"""Keys under which a call-shaped JSON object names its tool."""
JSON_FENCE_LANGUAGES = frozenset({"", "json", "json5", "tool_call", "tool_code", "function", "functions"})
MAX_HELD = 400
"""Characters of a possible call held back before it is treated as text."""
_NAMED = re.compile(r'"(' + "|".join(NAME_KEYS) + r')"\s*:\s*(\{\s*"name"\s*:\s*)?"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class _Scan:
    outcome: Opening
    name: str | None = None


def classify_opening(text: str, tool_names: Iterable[str]) -> Opening:
    """Whether `text` (model output from a possible call's first character) is a call in a
    syntax of the model's own: a JSON object, or a list of them, bare or in a ```` ``` ````
    / ```` ```json ```` fence, naming one of `tool_names` under a name key (`"name"`,
    `"function"`, `"tool"`, `"tool_name"`, or `"function": {"name": ...}`).

    `undecided` while more text could still make it one; `text` as soon as it cannot
    (another fence language, JSON that names no tool, prose) or after `MAX_HELD`
    characters."""
    return _scan(text, frozenset(tool_names)).outcome


def named_tool(text: str, tool_names: Iterable[str]) -> str | None:
    """The tool a call-shaped `text` names (see `classify_opening`), if any."""
    return _scan(text, frozenset(tool_names)).name


def names_a_tool(text: str, tool_names: Sequence[str]) -> bool:
    """Whether one of the names occurs in `text` as a whole word (the `probe` rule)."""
    return any(re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w])", text) for name in tool_names)


def _scan(text: str, names: frozenset[str]) -> _Scan:
    stripped = text.lstrip()
    if not stripped:
        return _Scan("undecided")
    body = stripped
    if stripped.startswith("`"):
        if not "```".startswith(stripped[:3]):
            return _Scan("text")
        if len(stripped) < 3:
            return _Scan("undecided")
        line_end = stripped.find("\n", 3)
        if line_end < 0:
            language = stripped[3:].strip().lower()
            return _Scan("undecided" if any(known.startswith(language) for known in JSON_FENCE_LANGUAGES) else "text")
        if stripped[3:line_end].strip().lower() not in JSON_FENCE_LANGUAGES:
            return _Scan("text")
        body = stripped[line_end + 1:].lstrip()
        if not body:
            return _Scan("undecided")
    if body[0] not in "[{":
        return _Scan("text")
    if body[0] == "[":
        rest = body[1:].lstrip()
        if not rest:
            return _Scan("undecided")
        if rest[0] != "{":
            return _Scan("text")
    match = _NAMED.search(body)
    if match and match.group(3) in names:
        return _Scan("call", match.group(3))
    try:
        json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return _Scan("text" if len(text) > MAX_HELD else "undecided")
    return _Scan("text")  # a whole JSON value that names no tool


# -- parallel_calls and call_confidence -----------------------------------------------------


def confidence(chunks: Iterable[Any]) -> float:
    """The least log-probability among the content tokens the model chose in `chunks`
    (engine `Chunk`s): sampled, not forced, with a letter or digit, and where the grammar
    allowed other tokens (`logprob` not None). 0.0 when there were none."""
    chosen = [chunk.logprob for chunk in chunks
              if not chunk.forced and chunk.logprob is not None and any(ch.isalnum() for ch in chunk.text)]
    return min(chosen, default=0.0)


def confident(chunks: Iterable[Any], threshold: float) -> bool:
    """Whether every content token the model chose had probability >= `threshold`."""
    return confidence(chunks) >= math.log(threshold)


def repeats_a_call(call: ParsedCall, earlier: Sequence[ParsedCall]) -> bool:
    """Whether `call` has the name and arguments of an earlier call of the turn."""
    key = (call.name, canonical_arguments(call.arguments))
    return any((other.name, canonical_arguments(other.arguments)) == key for other in earlier)


def logsumexp(values: Iterable[float]) -> float:
    items = [value for value in values if value != -math.inf]
    if not items:
        return -math.inf
    top = max(items)
    return top + math.log(sum(math.exp(value - top) for value in items))


def continue_calls(logprobs: Mapping[str, float], continue_tokens: Sequence[str], end_tokens: Sequence[str],
                   threshold: float) -> bool:
    """`model`: a further call when P(the likeliest token that starts one) is at least
    `threshold` times P(a token that ends the turn), both read from the model where the
    turn could end; `threshold` 1 is the model's own greedy choice."""
    p_continue = max((logprobs[token] for token in continue_tokens if token in logprobs), default=-math.inf)
    p_end = logsumexp(logprobs[token] for token in end_tokens if token in logprobs)
    if p_continue == -math.inf:
        return False
    return p_continue - p_end >= math.log(threshold)


# -- repeat_calls ----------------------------------------------------------------------------


def canonical_arguments(arguments: str) -> str:
    """Arguments text in one spelling (sorted keys), so equal arguments compare equal."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except json.JSONDecodeError:
        return arguments


def answered_calls(messages: Sequence[Message]) -> set[tuple[str, str]]:
    """(name, canonical arguments) of the conversation's calls that got a result."""
    answered_ids = {m.tool_call_id for m in messages if m.role == "tool"}
    answered_names = {m.name for m in messages if m.role in ("tool", "function") and m.name}
    calls: set[tuple[str, str]] = set()
    for message in messages:
        if isinstance(message, AssistantMessage):
            for index, call in enumerate(message.calls()):
                call_id = message.tool_calls[index].id if message.tool_calls else None
                if call_id in answered_ids or call.name in answered_names:
                    calls.add((call.name, canonical_arguments(call.arguments)))
    return calls


def is_error_result(content: str) -> bool:
    """Whether a tool result reports an error: a JSON object with an `error` key (what
    toolwire's agent loop writes), or text that starts with "error"."""
    text = content.strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text.lower().startswith("error")
    return isinstance(value, dict) and "error" in value


def repeat_exempt(messages: Sequence[Message]) -> bool:
    """Whether repeating an answered call is legitimate now: the last tool result was an
    error (a retry), or a user message is newer than the last tool result (the question
    was asked again; fresh data wanted)."""
    for message in reversed(messages):
        if message.role in ("tool", "function"):
            return is_error_result(message_text(message.content))
        if message.role == "user":
            return True
    return True


def is_repeat(call: ParsedCall, answered: set[tuple[str, str]]) -> bool:
    return (call.name, canonical_arguments(call.arguments)) in answered


# -- grounded (the first version's rule, kept for comparison) -------------------------------


def grounded(call: ParsedCall, earlier: Sequence[ParsedCall], messages: Sequence[Message]) -> bool:
    """The first version's filter of a further call: it repeats no earlier call of the
    turn, and (if it has string or number values) one of them occurs in the conversation
    and in no earlier call."""
    arguments = _decoded(call.arguments)
    if any(call.name == other.name and arguments == _decoded(other.arguments) for other in earlier):
        return False
    values = {value.lower() for value in _leaf_values(arguments)}
    if not values:
        return True
    history = [c.arguments for m in messages if isinstance(m, AssistantMessage) for c in m.calls()]
    used = {value.lower() for arguments in [other.arguments for other in earlier] + history
            for value in _leaf_values(_decoded(arguments))}
    conversation = " ".join(message_text(m.content).lower() for m in messages if m.role != "assistant")
    return any(_appears(value, conversation) for value in values - used)


def _decoded(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments


def _leaf_values(value: Any) -> Iterable[str]:
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
