"""Build the grammar IR of one chat turn from a format's `CallSyntax`, the request's tools
and its `tool_choice`. Format-blind: everything it knows about a format is in `CallSyntax`.

    auto:      text_reply | calls | text_then_calls (when the format allows text first)
    required:  calls            named: one call of that tool        none: text_reply

each after the format's thinking block when it has one (`CallSyntax.reasoning`): thinking
is free text, where a trigger is just text, up to the block's end; optional, unless the
prompt opened the block. Arguments are JSON, Python keyword literals, positional
JavaScript values, Gemma's `{key:value}` syntax or tagged parameters (`CallSyntax.arguments`);
tagged string parameters are raw text up to the closing tag, others JSON. A call's index
and id slots are 1 to 4 digits and `call_id_length` of `call_id_characters`.

Free text can never become an unconstrained call: where calls may follow text, text may
not contain the trigger (it ends the text instead); where calls stand alone, text may
not open like the call block. When the trigger is one special token, text is followed by
that token; otherwise by a lazy text rule ending at the trigger. The accepting state
admits the model's end-of-turn tokens, so a finished call can end the turn; with one call
allowed, so can a trailing newline after it (Qwen writes one before its end token,
FINDINGS.md #2). With parallel calls, the newline leads to the next call, which the chat
layer keeps only if its policy does (`chat/policies.py`).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Callable, Sequence

from toolwire.constrain.constraints import (
    Constraint,
    JsonConstraint,
    ToolCallConstraint,
    Vocabulary,
    closed_schema,
)
from toolwire.constrain.ir import (
    Alt,
    AnyToken,
    Chars,
    Expr,
    Grammar,
    Json,
    Line,
    Literal,
    Ref,
    Repeat,
    Seq,
    Text,
    TextUntil,
    Token,
    seq,
)
from toolwire.formats.base import ARGUMENTS, CALL_ID, INDEX, NAME, CallSyntax, ParameterSyntax, Slot
from toolwire.types import NamedToolChoice, Tool

__all__ = [
    "arguments_grammar", "build_grammar", "call_parts", "call_pieces", "slot_grammar", "text_grammar",
    "triggered_calls_grammar",
]


def build_grammar(constraint: Constraint, vocabulary: Vocabulary = Vocabulary()) -> Grammar:
    """The IR of a `ToolCallConstraint` or `JsonConstraint` (a `LarkConstraint` is
    already a grammar in one dialect and has no IR)."""
    if isinstance(constraint, JsonConstraint):
        return Grammar(Json(constraint.schema))
    if isinstance(constraint, ToolCallConstraint):
        return _turn_grammar(constraint, vocabulary)
    raise TypeError(f"no grammar IR for {type(constraint).__name__}")


def arguments_grammar(request: ToolCallConstraint, tool: Tool, vocabulary: Vocabulary = Vocabulary()) -> Grammar:
    """The IR of one call's arguments (for dialects that assemble calls themselves)."""
    builder = _Builder(request, vocabulary)
    start = builder.arguments(tool)
    return Grammar(start, builder.rules)


def text_grammar(request: ToolCallConstraint, vocabulary: Vocabulary = Vocabulary()) -> Grammar:
    """The IR of the turn's free text, with the restrictions `request` puts on it."""
    builder = _Builder(request, vocabulary)
    return Grammar(_text(builder, request), builder.rules)


def call_pieces(syntax: CallSyntax, tool: Tool, *, first_literal: str | None = None) -> tuple[str, str]:
    """The literal text of one call of `tool` before and after its arguments (`first_literal`
    replaces the template's leading literal). Raises ValueError for a call with other
    slots (an index, an id): see `call_parts`."""
    template = list(syntax.call)
    if first_literal is not None and template and isinstance(template[0], str):
        template[0] = first_literal
    before, middle, after = call_parts(replace(syntax, call=tuple(template)), tool)
    if middle != (ARGUMENTS,):
        raise ValueError(f"a call of {tool.name!r} has slots besides its arguments: use call_parts")
    return before, after


def call_parts(syntax: CallSyntax, tool: Tool) -> tuple[str, tuple[str | Slot, ...], str]:
    """One call of `tool` as (the literal text before its first slot other than the name,
    the literals and slots from there to its last slot, the literal text after that):
    hermes' middle is `(ARGUMENTS,)`; Kimi-K2's `(INDEX, "<|tool_call_argument_begin|>",
    ARGUMENTS)`."""
    items: list[str | Slot] = []
    for item in syntax.call:
        text = tool.name if item is NAME else item
        if isinstance(text, str) and items and isinstance(items[-1], str):
            items[-1] += text
        elif text != "":
            items.append(text)
    before = items.pop(0) if items and isinstance(items[0], str) else ""
    after = items.pop() if items and isinstance(items[-1], str) else ""
    return str(before), tuple(items), str(after)


def slot_grammar(request: ToolCallConstraint, slot: Slot, vocabulary: Vocabulary = Vocabulary()) -> Grammar:
    """The IR of a call's index or id alone (for dialects that assemble calls themselves)."""
    builder = _Builder(request, vocabulary)
    start = builder.call_label(slot)
    return Grammar(start, builder.rules)


class _Builder:
    def __init__(self, request: ToolCallConstraint, vocabulary: Vocabulary) -> None:
        self.request = request
        self.rules: dict[str, Expr] = {}
        self._count = 0
        self.vocabulary = vocabulary
        specials = {text: tid for text, tid in vocabulary.special_tokens.items() if len(text) > 1}
        self._specials = specials
        self._special_re = (
            re.compile("|".join(re.escape(text) for text in sorted(specials, key=len, reverse=True)))
            if specials else None
        )

    def special_tokens(self, *, excluding: set[str]) -> tuple[Token, ...]:
        """The vocabulary's special tokens, but those in `excluding`."""
        return tuple(Token(text, tid) for text, tid in sorted(self._specials.items(), key=lambda item: item[1])
                     if text not in excluding)

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def add(self, name: str, body: Expr) -> Ref:
        self.rules[name] = body
        return Ref(name)

    # -- literals --------------------------------------------------------------------

    def pieces(self, text: str) -> tuple[Literal | Token, ...]:
        """`text` split into literal runs and special tokens."""
        if not text:
            return ()
        if self._special_re is None:
            return (Literal(text),)
        result: list[Literal | Token] = []
        position = 0
        for match in self._special_re.finditer(text):
            if match.start() > position:
                result.append(Literal(text[position:match.start()]))
            result.append(Token(match.group(), self._specials[match.group()]))
            position = match.end()
        if position < len(text):
            result.append(Literal(text[position:]))
        return tuple(result)

    def literal(self, text: str) -> Expr:
        """Literal text, with special tokens as tokens."""
        return seq(*self.pieces(text))

    # -- calls -----------------------------------------------------------------------

    def call_rule(self, tool: Tool, *, first_literal: str | None = None) -> Ref:
        """One call of `tool`; `first_literal` replaces the template's leading literal."""
        parts: list[Expr] = []
        pending = ""
        template = list(self.request.syntax.call)
        if first_literal is not None and template and isinstance(template[0], str):
            template[0] = first_literal
        for item in template:
            if item is NAME:
                pending += tool.name
            elif item is ARGUMENTS or item is INDEX or item is CALL_ID:
                if pending:
                    parts.append(self.literal(pending))
                    pending = ""
                parts.append(self.arguments(tool) if item is ARGUMENTS else self.call_label(item))
            else:
                pending += item
        if pending:
            parts.append(self.literal(pending))
        return self.add(self.fresh("call"), seq(*parts))

    def call_label(self, slot: Slot) -> Ref:
        """A call's index in the turn (decimal) or the id the model gives it
        (`call_id_length` of `call_id_characters`), one shared rule each."""
        name = f"call_{slot.value}"
        if name not in self.rules:
            syntax = self.request.syntax
            if slot is INDEX:
                self.add(name, Chars("0123456789", 1, 4))
            else:
                self.add(name, Chars(syntax.call_id_characters, syntax.call_id_length, syntax.call_id_length))
        return Ref(name)

    def arguments(self, tool: Tool) -> Expr:
        schema = closed_schema(self.request.schemas[tool.name])
        style = self.request.syntax.arguments
        if style == "json":
            return Json(schema)
        if style == "python-kwargs":
            return self.kwargs_rule(schema)
        if style == "parameters":
            return self.parameters_rule(schema)
        if style == "gemma":
            return self.gemma_value(schema)
        return self.js_args_rule(schema)

    def parameters_rule(self, schema: dict[str, Any]) -> Ref:
        """Tagged parameters (`CallSyntax.parameters`) in property order, optional ones
        skippable: `begin KEY key_end VALUE end` each."""
        parameter = self.request.syntax.parameters
        if parameter is None:
            raise ValueError("the `parameters` argument style needs CallSyntax.parameters")
        properties = list((schema.get("properties") or {}).items())
        required = set(schema.get("required") or [])
        return self._sequence(properties, required, lambda key: parameter.begin + key + parameter.key_end,
                              self.parameter_value, "params", separator="")

    def parameter_value(self, schema: Any) -> Expr:
        """One parameter's value and the `end` that closes it. A string value is raw text
        that ends at the closing tag (an enum, one of its values); any other value is
        JSON, or the Python literal where Python writes it differently (`True`, `None`:
        what Qwen3-Coder's template prints). String keywords other than `enum`/`const`
        (`pattern`, lengths) are not enforced on raw text."""
        parameter = self.request.syntax.parameters
        assert parameter is not None
        end = parameter.end
        lead = end[: len(end) - len(end.lstrip())]
        tag = end.strip().split()[0] if end.strip() else end
        after = end[len(lead) + len(tag):]
        if ParameterSyntax.value_kind(schema) == "json":
            # JSON, or the Python literal the templates print with `| string` (`True`, `None`)
            python = self.python_value(schema)
            value: Expr = Json(schema) if python == Json(schema) else Alt((Json(schema), python))
            return seq(value, self.literal(end))
        values = schema.get("enum") if isinstance(schema.get("enum"), list) else (
            [schema["const"]] if "const" in schema else None)
        if values:
            strings = [value for value in values if isinstance(value, str)]
            return seq(Alt(tuple(Literal(value) for value in strings)) if len(strings) > 1 else Literal(strings[0]),
                       self.literal(end))
        # Raw text up to the closing tag; the whitespace the format writes before the tag
        # (`\n</parameter>`) is optional: models leave it out, and the parser strips it.
        pieces = self.pieces(tag)
        if len(pieces) == 1 and isinstance(pieces[0], Token):
            return seq(Text(not_containing=pieces), pieces[0], self.literal(after))
        raw = self.add(self.fresh("raw"), TextUntil(Text(not_containing=pieces), tag))
        return seq(raw, self.literal(after))

    def gemma_value(self, schema: Any) -> Expr:
        """A value in Gemma's syntax matching `schema`: bare sorted keys, strings between
        `string_delimiter`s (never containing it), other values as JSON writes them."""
        if not isinstance(schema, dict) or not schema:
            return self.gemma_any()
        for key in ("enum", "const"):
            if key in schema:
                values = schema[key] if key == "enum" else [schema[key]]
                return Alt(tuple(self.gemma_literal(value) for value in values))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return Alt(tuple(self.gemma_value(sub) for sub in schema[key]))
        types = schema.get("type")
        if isinstance(types, list):
            return Alt(tuple(self.gemma_value({**schema, "type": t}) for t in types))
        if types == "string":
            return self.gemma_string()
        if types in ("number", "integer"):
            return Json(schema)
        if types == "boolean":
            return Alt((Literal("true"), Literal("false")))
        if types == "null":
            return Literal("null")
        if types == "array":
            item = self.gemma_value(schema.get("items", {}))
            more = Repeat(Seq((Literal(","), item)))
            return self.add(self.fresh("gemma_list"), Seq((Literal("["), Repeat(Seq((item, more)), 0, 1), Literal("]"))))
        if types == "object" or "properties" in schema:
            properties = sorted((schema.get("properties") or {}).items())
            inner = self._sequence(properties, set(schema.get("required") or []), lambda key: f"{key}:",
                                   self.gemma_value, "gemma_object", separator=",")
            return Seq((Literal("{"), inner, Literal("}")))
        return self.gemma_any()

    def gemma_string(self) -> Ref:
        """`delimiter text delimiter`, the text free but for the delimiter, one shared rule."""
        if "gemma_string" not in self.rules:
            delimiter = self.request.syntax.string_delimiter
            pieces = self.pieces(delimiter)
            if len(pieces) == 1 and isinstance(pieces[0], Token):
                body: Expr = Seq((Text(), pieces[0]))
            else:
                body = self.add("gemma_string_body", TextUntil(Text(not_containing=pieces), delimiter))
            self.add("gemma_string", seq(self.literal(delimiter), body))
        return Ref("gemma_string")

    def gemma_literal(self, value: Any) -> Expr:
        if isinstance(value, str):
            delimiter = self.request.syntax.string_delimiter
            return self.literal(delimiter + value + delimiter)
        return Literal(json.dumps(value))

    def gemma_any(self) -> Ref:
        """A value the schema leaves open: a string, a number, true, false or null."""
        if "gemma_any" not in self.rules:
            self.add("gemma_any", Alt((self.gemma_string(), Json({"type": "number"}), Literal("true"),
                                       Literal("false"), Literal("null"))))
        return Ref("gemma_any")

    def js_args_rule(self, schema: dict[str, Any]) -> Ref:
        """One JSON object, or positional values in property order (required ones present)."""
        properties = list((schema.get("properties") or {}).items())
        required = set(schema.get("required") or [])
        last_required = max((i for i, (key, _) in enumerate(properties) if key in required), default=-1)
        options: list[Expr] = [Json(schema)]
        for count in range(last_required + 1, len(properties) + 1):
            if count == 1 and _may_be_object(properties[0][1]):
                continue  # `f({...})` reads as the whole arguments object, never as one value
            values: list[Expr] = []
            for index, (_, sub) in enumerate(properties[:count]):
                values += [Literal(", "), Json(sub)] if index else [Json(sub)]
            options.append(Seq(tuple(values)) if len(values) != 1 else values[0])
        return self.add(self.fresh("args"), Alt(tuple(options)))

    def kwargs_rule(self, schema: dict[str, Any]) -> Ref:
        """`key=value` pairs in property order, optional ones skippable, Python literals."""
        properties = list((schema.get("properties") or {}).items())
        required = set(schema.get("required") or [])
        return self._sequence(properties, required, lambda key: f"{key}=", self.python_value, "args")

    def _sequence(self, properties: list[tuple[str, Any]], required: set[str], label: Callable[[str], str],
                  value: Callable[[Any], Expr], stem: str, separator: str = ", ") -> Ref:
        """Rules for a run of items in order, `separator` between them, optional ones
        skippable."""
        first = later = Ref("")
        for index in range(len(properties), -1, -1):
            if index == len(properties):
                first = later = self.add(self.fresh(stem), Seq(()))
                continue
            key, sub = properties[index]
            item = (self.literal(label(key)), value(sub))
            take_first = Seq((*item, later))
            take_later = seq(self.literal(separator), *item, later)
            skip_first, skip_later = first, later
            new_first = self.fresh(stem)
            new_later = self.fresh(stem)
            if key in required:
                first = self.add(new_first, take_first)
                later = self.add(new_later, take_later)
            else:
                first = self.add(new_first, Alt((take_first, skip_first)))
                later = self.add(new_later, Alt((take_later, skip_later)))
        return first

    def python_value(self, schema: Any) -> Expr:
        """A Python literal matching `schema` (JSON where JSON and Python agree)."""
        if not isinstance(schema, dict) or not schema:
            return self.add(self.fresh("pyany"), Line())
        if not _mentions_python_only(schema):
            return Json(schema)
        for key in ("enum", "const"):
            if key in schema:
                values = schema[key] if key == "enum" else [schema[key]]
                return Alt(tuple(Literal(_python_literal(v)) for v in values))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return Alt(tuple(self.python_value(sub) for sub in schema[key]))
        types = schema.get("type")
        if isinstance(types, list):
            return Alt(tuple(self.python_value({**schema, "type": t}) for t in types))
        if types == "boolean":
            return Alt((Literal("True"), Literal("False")))
        if types == "null":
            return Literal("None")
        if types == "array":
            item = self.python_value(schema.get("items", {}))
            more = Repeat(Seq((Literal(", "), item)))
            return self.add(self.fresh("pylist"), Seq((Literal("["), Repeat(Seq((item, more)), 0, 1), Literal("]"))))
        if types == "object" or "properties" in schema:
            properties = list((schema.get("properties") or {}).items())
            inner = self._sequence(properties, set(schema.get("required") or []),
                                   lambda key: json.dumps(key) + ": ", self.python_value, "pydict")
            return Seq((Literal("{"), inner, Literal("}")))
        return Json(schema)


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


# -- the turn --------------------------------------------------------------------------------


def _turn_grammar(request: ToolCallConstraint, vocabulary: Vocabulary) -> Grammar:
    """The turn: the answer (below), after the format's thinking block when it has one."""
    builder = _Builder(request, vocabulary)
    return Grammar(_after_thinking(builder, request, _answer(builder, request)), builder.rules)


def _answer(builder: _Builder, request: ToolCallConstraint) -> Expr:
    """text_reply | calls | text_then_calls, per `tool_choice` (see the module doc)."""
    syntax = request.syntax
    choice = request.tool_choice
    tools = list(request.tools) if choice != "none" else []
    if isinstance(choice, NamedToolChoice):
        tools = [tool for tool in tools if tool.name == choice.name]
    single = isinstance(choice, NamedToolChoice) or not request.parallel_tool_calls
    text = _text(builder, request)

    builder.add("text_reply", _text_body(builder, syntax, text))
    if not tools:
        return Ref("text_reply")
    call = builder.add("call", Alt(tuple(builder.call_rule(tool) for tool in tools)))
    more = None if single else Repeat(seq(builder.literal(syntax.separator), call))
    begin = None if request.resume else builder.literal(syntax.calls_begin)
    builder.add("calls", seq(begin, call, more, _closing(builder, syntax, single)))
    if choice == "required" or isinstance(choice, NamedToolChoice) or request.resume:
        return Ref("calls")
    if syntax.text_before_calls:
        _add_text_then_calls(builder, syntax, tools, text, more)
        return Alt((Ref("text_reply"), Ref("calls"), Ref("text_then_calls")))
    return Alt((Ref("text_reply"), Ref("calls")))


def _after_thinking(builder: _Builder, request: ToolCallConstraint, answer: Expr) -> Expr:
    """`answer`, after the format's thinking block: free text (a call trigger in it is
    just text) up to the block's end, then the separator. The block is optional unless
    the prompt opened it (then the output starts inside it); a resumed turn is past it."""
    reasoning = request.syntax.reasoning
    if reasoning is None or request.resume:
        return answer
    end = builder.pieces(reasoning.end)
    closing_token = len(end) == 1 and isinstance(end[0], Token)
    # Special tokens written while thinking (but not the end of the block or of the turn)
    # separate stretches of text; free text itself cannot produce them.
    others = builder.special_tokens(excluding={reasoning.end, *builder.vocabulary.end_tokens})
    stretch = Text(not_containing=end)
    tokens = Repeat(Seq((stretch, AnyToken(others)))) if others else None
    if closing_token:
        thought: Expr = seq(tokens, stretch, end[0])
    else:
        thought = seq(tokens, builder.add("thinking", TextUntil(stretch, reasoning.end)))
    block = seq(thought, builder.literal(reasoning.separator))
    if reasoning.opened_by_prompt:
        return Seq((block, answer))
    opened = builder.add("thinking_block", seq(builder.literal(reasoning.begin), block))
    return Seq((Repeat(opened, 0, 1), answer))


def _closing(builder: _Builder, syntax: CallSyntax, single: bool) -> Expr | None:
    """What ends the calls: the format's `calls_end`, else with one call allowed an
    optional newline (FINDINGS.md #2)."""
    if syntax.calls_end:
        return builder.literal(syntax.calls_end)
    return Repeat(Literal("\n"), 0, 1) if single else None


def _text(builder: _Builder, request: ToolCallConstraint) -> Text:
    """Free text that can never become an unconstrained call (see the module doc), nor
    start like the thinking block that may come before it."""
    syntax = request.syntax
    reasoning = syntax.reasoning
    # (text after a text prefix, Command R7B's <|START_RESPONSE|>, cannot be taken for the block)
    thinking = reasoning is not None and not reasoning.opened_by_prompt and not request.resume and not syntax.text_prefix
    not_starting = builder.pieces(reasoning.begin) if thinking and reasoning is not None else ()
    if request.plain_text_only and not_starting and not Text.joined(not_starting)[:1].isalnum():
        not_starting = ()  # a text that opens with a word character cannot start with the block
    calls_possible = bool(request.tools) and request.tool_choice != "none"
    if calls_possible and syntax.text_before_calls:
        return Text(request.plain_text_only, not_containing=builder.pieces(syntax.trigger_text()),
                    not_starting=not_starting)
    if calls_possible and not syntax.text_prefix:
        return Text(request.plain_text_only, not_opening=builder.pieces(syntax.calls_begin + _first_literal(syntax)),
                    not_starting=not_starting)
    return Text(request.plain_text_only, not_starting=not_starting)


def _first_literal(syntax: CallSyntax) -> str:
    first = syntax.call[0]
    return first if isinstance(first, str) else ""


def _text_body(builder: _Builder, syntax: CallSyntax, text: Text) -> Expr:
    """text_prefix TEXT text_suffix. A plain-text suffix ends the text where it first
    appears (Command R's `<|END_RESPONSE|>`), as a trigger does."""
    if syntax.text_is_json_string:
        return seq(builder.literal(syntax.text_prefix), Json({"type": "string"}), builder.literal(syntax.text_suffix))
    suffix = builder.pieces(syntax.text_suffix)
    if not suffix or isinstance(suffix[0], Token):
        return seq(builder.literal(syntax.text_prefix), text, builder.literal(syntax.text_suffix))
    if text.not_containing:
        raise ValueError("a format's text cannot end both at a trigger and at a text suffix")
    until = TextUntil(Text(text.word_first, not_containing=suffix, not_opening=text.not_opening,
                           not_starting=text.not_starting), syntax.text_suffix)
    return seq(builder.literal(syntax.text_prefix), builder.add(builder.fresh("text_until_suffix"), until))


def _add_text_then_calls(builder: _Builder, syntax: CallSyntax, tools: Sequence[Tool], text: Text,
                         more: Expr | None) -> None:
    """Free text until the trigger, then the rest of the lead-in and the calls.

    Plain text of the lead-in before the trigger (hermes' newline) is absorbed by the
    free text. A special-token trigger follows the text directly; a plain-text trigger
    ends a lazy text rule."""
    trigger = syntax.trigger_text()
    pieces = builder.pieces(trigger)
    if len(pieces) == 1 and isinstance(pieces[0], Token):
        until_trigger: Expr = Seq((text, pieces[0]))
    else:
        until_trigger = builder.add(builder.fresh("text_until_trigger"), TextUntil(text, trigger))
    builder.add("text_then_calls", seq(builder.literal(syntax.text_prefix), until_trigger,
                                       _after_trigger(builder, syntax, tools, more)))


def _after_trigger(builder: _Builder, syntax: CallSyntax, tools: Sequence[Tool], more: Expr | None) -> Expr:
    """What follows the trigger: the rest of the lead-in, the first call (which writes the
    rest of its first literal instead of its own), further calls, the end."""
    lead_in = syntax.lead_in()
    trigger = syntax.trigger_text()
    at = lead_in.find(trigger)
    if at < 0:
        raise ValueError(f"trigger {trigger!r} is not in the lead-in {lead_in!r}")
    rest = lead_in[at + len(trigger):]
    head_end = len(syntax.text_to_calls + syntax.calls_begin)
    first_literal_rest = rest[max(0, head_end - at - len(trigger)):] if at + len(trigger) <= head_end else rest
    begin_rest = rest[: len(rest) - len(first_literal_rest)]
    first = builder.add("first_call", Alt(tuple(builder.call_rule(tool, first_literal=first_literal_rest) for tool in tools)))
    closing = builder.literal(syntax.calls_end) if syntax.calls_end else (Repeat(Literal("\n"), 0, 1) if more is None else None)
    return seq(builder.literal(begin_rest), first, more, closing)


def triggered_calls_grammar(request: ToolCallConstraint, vocabulary: Vocabulary = Vocabulary()) -> Grammar | None:
    """For engines that apply a grammar lazily (llama.cpp's `grammar_lazy`): the calls from
    the trigger on (the trigger included), for an `auto` turn whose format lets text come
    first and whose calls always begin with the trigger; None for any other turn, which
    needs the whole grammar (functionary's calls can open with a bare name: a lazy grammar
    would never see them; a thinking model may write the trigger while it thinks, which
    must not start a call)."""
    syntax = request.syntax
    if request.tool_choice != "auto" or request.resume or not request.tools or not syntax.text_before_calls:
        return None
    if syntax.reasoning is not None:
        return None
    if not (syntax.calls_begin + _first_literal(syntax)).startswith(syntax.trigger_text()):
        return None
    builder = _Builder(request, vocabulary)
    tools = list(request.tools)
    call = builder.add("call", Alt(tuple(builder.call_rule(tool) for tool in tools)))
    more = None if not request.parallel_tool_calls else Repeat(seq(builder.literal(syntax.separator), call))
    start = seq(builder.literal(syntax.trigger_text()), _after_trigger(builder, syntax, tools, more))
    return Grammar(start, builder.rules)
