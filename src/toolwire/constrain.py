"""Build an llguidance Lark grammar from a format's `CallSyntax`, the request's tools and
its `tool_choice`. Format-blind: everything it knows about a format is in `CallSyntax`.

Why lazy text instead of an external trigger watch: llguidance already runs an Earley
parser over lexemes, so "free text, then a call once the trigger appears" is just a
grammar. When the trigger starts with a special token (Qwen's `<tool_call>`), free text
is `/(?s:.*)/`, which can never produce a special token, so the text ends exactly where
the model emits the trigger token. When the trigger is plain text, the text rule is
`lazy` (it ends at the first occurrence of the trigger), as in llguidance's tool-calling
recipe. The accepting state admits the model's end-of-turn tokens, so a finished call can
end the turn; with one call allowed, so can a trailing newline after it (Qwen writes one
before its end token, FINDINGS.md #2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

from toolwire.errors import SchemaError
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax
from toolwire.types import NamedToolChoice, Tool, ToolChoice

__all__ = [
    "Constraint",
    "JsonConstraint",
    "LarkConstraint",
    "ToolCallConstraint",
    "Vocabulary",
    "closed_schema",
    "lark_grammar",
    "response_format_constraint",
]

JSON_STYLE = {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": False, "lenient": True}
"""llguidance JSON options: the separators every format's templates write, and `lenient`,
which ignores keywords and formats llguidance does not know (as OpenAI does) instead of
refusing the schema. Schemas it still cannot compile (regex lookarounds, unsatisfiable
constraints) are refused with an error naming the tool: a tool that cannot be constrained
cannot keep toolwire's promise that every call validates, so there is no silent fallback
to unconstrained generation."""
_ANY_TEXT = "/(?s:.*)/"


@dataclass(frozen=True)
class Vocabulary:
    """What grammar building needs to know of a model's tokenizer: the text of each
    special token -> its id (literal pieces equal to one are emitted as that token), and
    the texts of its end-of-generation tokens. The grammar does not spell out a format's
    end-of-turn marker: wherever the grammar may end, llguidance allows the model's own
    end-of-generation tokens, and the marker is a stop string for the engine."""

    special_tokens: Mapping[str, int] = field(default_factory=dict)
    end_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ToolCallConstraint:
    """A chat turn that may (or must) call tools: the format's call syntax, the tools and
    their normalised schemas, `tool_choice` and `parallel_tool_calls`.
    `plain_text_only` makes a text reply open with a word or quote character. `resume`:
    the output already holds calls of this turn and the separator after them; the grammar
    is one further call of the block (without `calls_begin`), then the end."""

    syntax: CallSyntax
    tools: Sequence[Tool]
    schemas: Mapping[str, dict[str, Any]]
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    plain_text_only: bool = False
    resume: bool = False


@dataclass(frozen=True)
class JsonConstraint:
    """One JSON value valid against `schema` (OpenAI `response_format`)."""

    schema: dict[str, Any]


@dataclass(frozen=True)
class LarkConstraint:
    """A raw llguidance Lark grammar (`/v1/completions` with `grammar`)."""

    grammar: str


Constraint = Union[ToolCallConstraint, JsonConstraint, LarkConstraint]
"""What an engine is asked to enforce, independent of any engine's grammar dialect."""


def closed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with `additionalProperties: false` on every object that doesn't say
    otherwise, so that a constrained call cannot invent keys (OpenAI strict semantics)."""
    if not isinstance(schema, dict):
        return schema
    result = {key: _close_children(key, value) for key, value in schema.items()}
    if result.get("type") == "object" or "properties" in result:
        result.setdefault("additionalProperties", False)
    return result


def _close_children(key: str, value: Any) -> Any:
    if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
        return {name: closed_schema(sub) for name, sub in value.items()}
    if key in ("items", "not", "additionalProperties", "contains") and isinstance(value, dict):
        return closed_schema(value)
    if key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
        return [closed_schema(sub) for sub in value]
    return value


class _Builder:
    def __init__(self, request: ToolCallConstraint, vocabulary: Vocabulary) -> None:
        self.request = request
        self.rules: list[str] = []
        self._count = 0
        specials = {text: tid for text, tid in vocabulary.special_tokens.items() if len(text) > 1}
        self._specials = specials
        self._special_re = (
            re.compile("|".join(re.escape(text) for text in sorted(specials, key=len, reverse=True)))
            if specials else None
        )

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def add(self, name: str, body: str) -> str:
        self.rules.append(f"{name}: {body}")
        return name

    # -- literals --------------------------------------------------------------------

    def pieces(self, text: str) -> list[tuple[bool, str]]:
        """Split literal text into (is_special, piece) runs."""
        if not text:
            return []
        if self._special_re is None:
            return [(False, text)]
        result: list[tuple[bool, str]] = []
        position = 0
        for match in self._special_re.finditer(text):
            if match.start() > position:
                result.append((False, text[position:match.start()]))
            result.append((True, match.group()))
            position = match.end()
        if position < len(text):
            result.append((False, text[position:]))
        return result

    def literal(self, text: str) -> str:
        """Lark for literal text, with special tokens as tokens."""
        return " ".join(self._piece(special, piece) for special, piece in self.pieces(text))

    def _piece(self, special: bool, piece: str) -> str:
        if special:
            return f"<[{self._specials[piece]}]>"
        return json.dumps(piece, ensure_ascii=False)

    # -- calls -----------------------------------------------------------------------

    def call_rule(self, tool: Tool, *, first_literal: str | None = None) -> str:
        """One call of `tool`; `first_literal` replaces the template's leading literal."""
        parts: list[str] = []
        pending = ""
        template = list(self.request.syntax.call)
        if first_literal is not None and template and isinstance(template[0], str):
            template[0] = first_literal
        for item in template:
            if item is NAME:
                pending += tool.name
            elif item is ARGUMENTS:
                if pending:
                    parts.append(self.literal(pending))
                    pending = ""
                parts.append(self.arguments_rule(tool))
            else:
                pending += item
        if pending:
            parts.append(self.literal(pending))
        return self.add(self.fresh("call"), " ".join(part for part in parts if part))

    def arguments_rule(self, tool: Tool) -> str:
        schema = closed_schema(self.request.schemas[tool.name])
        style = self.request.syntax.arguments
        if style == "json":
            return _json(schema)
        if style == "python-kwargs":
            return self.kwargs_rule(schema)
        return self.js_args_rule(schema)

    def js_args_rule(self, schema: dict[str, Any]) -> str:
        """One JSON object, or positional values in property order (required ones present)."""
        properties = list((schema.get("properties") or {}).items())
        required = set(schema.get("required") or [])
        last_required = max((i for i, (key, _) in enumerate(properties) if key in required), default=-1)
        options = [_json(schema)]
        for count in range(last_required + 1, len(properties) + 1):
            if count == 1 and _may_be_object(properties[0][1]):
                continue  # `f({...})` reads as the whole arguments object, never as one value
            values = [_json(sub) for _, sub in properties[:count]]
            options.append(' ", " '.join(values) if values else '""')
        return self.add(self.fresh("args"), " | ".join(options))

    def kwargs_rule(self, schema: dict[str, Any]) -> str:
        """`key=value` pairs in property order, optional ones skippable, Python literals."""
        properties = list((schema.get("properties") or {}).items())
        required = set(schema.get("required") or [])
        return self._sequence(properties, required, lambda key: f"{key}=", self.python_value, "args")

    def _sequence(self, properties: list[tuple[str, Any]], required: set[str], label: Any, value: Any, stem: str) -> str:
        """Rules for a comma-separated run of items in order, optional ones skippable."""
        first = ""
        later = ""
        for index in range(len(properties), -1, -1):
            if index == len(properties):
                first = later = self.add(self.fresh(stem), '""')
                continue
            key, sub = properties[index]
            item = f"{json.dumps(label(key))} {value(sub)}"
            take_first = f"{item} {later}"
            take_later = f'", " {item} {later}'
            skip_first, skip_later = first, later
            new_first = self.fresh(stem)
            new_later = self.fresh(stem)
            if key in required:
                self.add(new_first, take_first)
                self.add(new_later, take_later)
            else:
                self.add(new_first, f"{take_first} | {skip_first}")
                self.add(new_later, f"{take_later} | {skip_later}")
            first, later = new_first, new_later
        return first

    def python_value(self, schema: Any) -> str:
        """A Python literal matching `schema` (JSON where JSON and Python agree)."""
        if not isinstance(schema, dict) or not schema:
            return self.add(self.fresh("pyany"), "PY_ANY")
        if not _mentions_python_only(schema):
            return _json(schema)
        for key in ("enum", "const"):
            if key in schema:
                values = schema[key] if key == "enum" else [schema[key]]
                return "(" + " | ".join(json.dumps(_python_literal(v)) for v in values) + ")"
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return "(" + " | ".join(self.python_value(sub) for sub in schema[key]) + ")"
        types = schema.get("type")
        if isinstance(types, list):
            return "(" + " | ".join(self.python_value({**schema, "type": t}) for t in types) + ")"
        if types == "boolean":
            return '("True" | "False")'
        if types == "null":
            return '"None"'
        if types == "array":
            item = self.python_value(schema.get("items", {}))
            return self.add(self.fresh("pylist"), f'"[" ({item} (", " {item})*)? "]"')
        if types == "object" or "properties" in schema:
            properties = list((schema.get("properties") or {}).items())
            inner = self._sequence(properties, set(schema.get("required") or []),
                                   lambda key: json.dumps(key) + ": ", self.python_value, "pydict")
            return f'"{{" {inner} "}}"'
        return _json(schema)


def _may_be_object(schema: Any) -> bool:
    """Whether a value of `schema` can be a JSON object (untyped schemas can)."""
    if not isinstance(schema, dict):
        return True
    if "anyOf" in schema or "oneOf" in schema:
        return any(_may_be_object(sub) for sub in schema.get("anyOf", []) + schema.get("oneOf", []))
    types = schema.get("type")
    if types is None:
        return "enum" not in schema and "const" not in schema
    return "object" in (types if isinstance(types, list) else [types])


def _mentions_python_only(schema: Any) -> bool:
    """Whether a schema can hold a value that JSON and Python write differently
    (booleans, null) or leaves the type open."""
    if isinstance(schema, dict):
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        if "boolean" in types or "null" in types:
            return True
        if any(v is None or isinstance(v, bool) for v in schema.get("enum", [])) or (
            "const" in schema and (schema["const"] is None or isinstance(schema["const"], bool))):
            return True
        if types == [None] and not any(k in schema for k in ("enum", "const", "anyOf", "oneOf", "properties", "items")):
            return True
        return any(_mentions_python_only(v) for k, v in schema.items() if k not in ("enum", "const", "default", "examples"))
    if isinstance(schema, list):
        return any(_mentions_python_only(v) for v in schema)
    return False


def _python_literal(value: Any) -> str:
    if value is True:
        return "True"
    if value is False:
        return "False"
    if value is None:
        return "None"
    return json.dumps(value, ensure_ascii=False)


def _json(schema: dict[str, Any]) -> str:
    return "%json " + json.dumps({**schema, "x-guidance": JSON_STYLE}, ensure_ascii=False)


PY_ANY = r'''
PY_ANY: /[^\n]*/
'''


def lark_grammar(constraint: Constraint, vocabulary: Vocabulary = Vocabulary()) -> str:
    """The llguidance Lark grammar for `constraint`, with `vocabulary`'s special tokens
    emitted as tokens."""
    if isinstance(constraint, LarkConstraint):
        return constraint.grammar
    if isinstance(constraint, JsonConstraint):
        return f"%llguidance {{}}\nstart: {_json(constraint.schema)}\n"
    return _tool_call_grammar(constraint, vocabulary)


def _tool_call_grammar(request: ToolCallConstraint, vocabulary: Vocabulary) -> str:
    """The Lark grammar for one chat turn. `tool_choice` none gives a text-only grammar.

        auto:      text_reply | calls | text_then_calls (when the format allows text first)
        required:  calls            named: one call of that tool        none: text_reply
    """
    builder = _Builder(request, vocabulary)
    syntax = request.syntax
    choice = request.tool_choice
    tools = list(request.tools) if choice != "none" else []
    if isinstance(choice, NamedToolChoice):
        tools = [tool for tool in tools if tool.name == choice.name]
    single = isinstance(choice, NamedToolChoice) or not request.parallel_tool_calls

    builder.add("text_reply", _text_body(builder, syntax))
    if not tools:
        start = "text_reply"
    else:
        call = builder.add("call", " | ".join(builder.call_rule(tool) for tool in tools))
        more = "" if single else f"({builder.literal(syntax.separator)} {call})*"
        # With one call allowed, a newline may close the calls when nothing else does: Qwen
        # writes one before its end-of-turn token (FINDINGS.md #2). With parallel calls, the
        # newline leads to the next call, which the chat layer keeps only if grounded.
        closing = builder.literal(syntax.calls_end) or ('"\\n"?' if single else "")
        _add(builder, "calls", "" if request.resume else builder.literal(syntax.calls_begin), call, more, closing)
        if choice == "required" or isinstance(choice, NamedToolChoice) or request.resume:
            start = "calls"
        elif syntax.text_before_calls:
            _add_text_then_calls(builder, syntax, tools, more)
            start = "text_reply | calls | text_then_calls"
        else:
            start = "text_reply | calls"
    lines = ["%llguidance {}", f"start: {start}", f"TEXT: {_text_terminal(builder, request)}", *builder.rules]
    if any("PY_ANY" in rule for rule in builder.rules):
        lines.append(PY_ANY.strip())
    return "\n".join(lines) + "\n"


def _text_terminal(builder: _Builder, request: ToolCallConstraint) -> str:
    """Free text that can never become an unconstrained call.

    Where calls may follow text, text may not contain a plain-text trigger (it has to end
    the lazy text rule instead); where calls stand alone, text may not open like the call
    block. A special-token trigger needs neither: the regex cannot produce it."""
    syntax = request.syntax
    excluded: list[str] = []
    calls_possible = bool(request.tools) and request.tool_choice != "none"
    if calls_possible and syntax.text_before_calls:
        trigger = builder.pieces(syntax.trigger_text())
        if trigger and not trigger[0][0]:
            excluded.append("/(?s:.*)" + _regex_literal(trigger[0][1]) + "(?s:.*)/")
    elif calls_possible and not syntax.text_prefix:
        lead_in = builder.pieces(syntax.calls_begin + _first_literal(syntax))
        if lead_in and not lead_in[0][0]:
            excluded.append("/\\s*" + _regex_literal(lead_in[0][1][0]) + "(?s:.*)/")
    base = "/\\s*[\\w\"'](?s:.*)/" if request.plain_text_only else _ANY_TEXT
    return " & ".join([base] + [f"~{regex}" for regex in excluded])


def _regex_literal(text: str) -> str:
    """`text` as a literal inside a Lark /regex/."""
    out = []
    for char in text:
        if char == "\n":
            out.append("\\n")
        elif char.isalnum() or char in " _-:'\"<>,=":
            out.append(char)
        else:
            out.append("\\" + char)
    return "".join(out)


def _first_literal(syntax: CallSyntax) -> str:
    first = syntax.call[0]
    return first if isinstance(first, str) else ""


def _add(builder: _Builder, name: str, *parts: str) -> str:
    return builder.add(name, " ".join(part for part in parts if part) or '""')


def _text_body(builder: _Builder, syntax: CallSyntax) -> str:
    body = '%json {"type": "string"}' if syntax.text_is_json_string else "TEXT"
    parts = [builder.literal(syntax.text_prefix), body, builder.literal(syntax.text_suffix)]
    return " ".join(part for part in parts if part)


def _add_text_then_calls(builder: _Builder, syntax: CallSyntax, tools: Sequence[Tool], more: str) -> None:
    """Free text until the trigger, then the rest of the lead-in and the calls.

    Plain text of the lead-in before the trigger (hermes' newline) is absorbed by the
    free text. A special-token trigger ends `/(?s:.*)/` by itself, since the regex cannot
    produce special tokens; a plain-text trigger ends a lazy text rule."""
    lead_in = syntax.lead_in()
    trigger = syntax.trigger_text()
    at = lead_in.find(trigger)
    if at < 0:
        raise ValueError(f"trigger {trigger!r} is not in the lead-in {lead_in!r}")
    rest = lead_in[at + len(trigger):]
    pieces = builder.pieces(trigger)
    if len(pieces) == 1 and pieces[0][0]:
        text = f"TEXT {builder.literal(trigger)}"
    else:
        text = builder.add(builder.fresh("text_until_trigger") + "[lazy]", f"TEXT {json.dumps(trigger, ensure_ascii=False)}").split("[")[0]
    # `rest` = what follows the trigger up to the first call's name: the end of the
    # lead-in, which the first call writes instead of its own first literal.
    head_end = len(syntax.text_to_calls + syntax.calls_begin)
    first_literal_rest = rest[max(0, head_end - at - len(trigger)):] if at + len(trigger) <= head_end else rest
    begin_rest = rest[: len(rest) - len(first_literal_rest)]
    first = builder.add("first_call", " | ".join(builder.call_rule(tool, first_literal=first_literal_rest) for tool in tools))
    _add(builder, "text_then_calls", builder.literal(syntax.text_prefix), text, builder.literal(begin_rest),
         first, more, builder.literal(syntax.calls_end) or ('"\\n"?' if not more else ""))


def response_format_constraint(response_format: Mapping[str, Any]) -> JsonConstraint | None:
    """The constraint for OpenAI `response_format` (json_object / json_schema); None for text."""
    kind = response_format.get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return JsonConstraint({"type": "object"})
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        return JsonConstraint(closed_schema(schema) if spec.get("strict") else schema)
    raise SchemaError(f"response_format.type: unknown type {kind!r}", param="response_format.type")
