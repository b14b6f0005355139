"""What GBNF (llama.cpp) and xgrammar's EBNF share: character-level BNF with `::=`,
quoted strings, character classes, `( | ) * + ? {m,n}`, and JSON values from
llama-cpp-python's JSON-schema converter (whose output both parse).

These dialects match special tokens by their text, so free text has to exclude a
trigger explicitly: "text not containing S" is the regular language of a small automaton
(the states of a KMP match of S), written as one rule per state. "Any text" is any
character but NUL.
"""

from __future__ import annotations

import json
from typing import Any

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
)
from toolwire.errors import SchemaError, ToolwireError

__all__ = ["BnfWriter", "quote"]

SPACES = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
"""Python's whitespace (what `\\s` and `str.strip` mean), for text openings."""
_ASCII_NON_WORD = "".join(chr(code) for code in range(0x80)
                          if not (chr(code).isalnum() or chr(code) in "_\"'") and not chr(code).isspace())


def _unsupported() -> type[ToolwireError]:
    """`engine.base.ConstraintUnsupported` (imported late: the engine contract imports
    the constraint types)."""
    from toolwire.engine.base import ConstraintUnsupported as unsupported

    return unsupported


class BnfWriter:
    """Renders a `Grammar`; subclasses set the dialect's spelling of tokens."""

    dialect = "bnf"
    tokens_by_id = False
    """Write special tokens as `<[id]>` (GBNF) instead of by their text."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.lines: list[str] = []
        self.helpers: dict[str, str] = {}
        self._converter: Any = None
        self._json_rules: dict[str, str] = {}
        self._without: dict[str, str] = {}

    # -- the grammar --------------------------------------------------------------------

    def write(self) -> str:
        self.lines.append(f"root ::= {self.body(self.grammar.start)}")
        for name, body in self.grammar.rules.items():
            self.lines.append(f"{_name(name)} ::= {self.body(body)}")
        self.lines += [f"{name} ::= {body}" for name, body in self.helpers.items()]
        if self._converter is not None:
            self.lines.append(self._converter.format_grammar())
        return "\n".join(self.lines) + "\n"

    def body(self, expr: Expr) -> str:
        if isinstance(expr, Alt):
            return " | ".join(self.option(option) for option in expr.options)
        return self.option(expr)

    def option(self, expr: Expr) -> str:
        if isinstance(expr, Seq):
            return " ".join(self.item(item) for item in expr.items) or '""'
        return self.item(expr)

    def item(self, expr: Expr) -> str:
        if isinstance(expr, Literal):
            return quote(expr.text)
        if isinstance(expr, Token):
            return f"<[{expr.id}]>" if self.tokens_by_id else quote(expr.text)
        if isinstance(expr, AnyToken):
            return "(" + " | ".join(self.item(token) for token in expr.tokens) + ")"
        if isinstance(expr, Chars):
            return f"[{_class_chars(expr.characters)}]{_quantifier(expr.min, expr.max)}"
        if isinstance(expr, Json):
            return self.json(expr.schema)
        if isinstance(expr, Text):
            return self.text(expr)
        if isinstance(expr, TextUntil):
            return f"{self.text(expr.text)} {quote(expr.trigger)}"
        if isinstance(expr, Line):
            return self.helper("line", f"[^{_class_chars(chr(0) + chr(10))}]*")
        if isinstance(expr, Ref):
            return _name(expr.name)
        if isinstance(expr, Seq):
            return " ".join(self.item(item) for item in expr.items) or '""'
        if isinstance(expr, Alt):
            return "(" + " | ".join(self.option(option) for option in expr.options) + ")"
        if isinstance(expr, Repeat):
            inner = self.item(expr.item)
            if isinstance(expr.item, Seq):
                inner = f"({inner})"
            return inner + _quantifier(expr.min, expr.max)
        raise _unsupported()(f"{self.dialect}: cannot express {expr!r}")

    def helper(self, name: str, body: str) -> str:
        """A rule shared by the whole grammar (added once)."""
        self.helpers.setdefault(name, body)
        return name

    # -- JSON ---------------------------------------------------------------------------

    def json(self, schema: dict[str, Any]) -> str:
        """A rule for one JSON value of `schema`, from llama-cpp-python's converter."""
        key = json.dumps(schema, sort_keys=True)
        if key in self._json_rules:
            return self._json_rules[key]
        from llama_cpp.llama_grammar import SchemaConverter

        if self._converter is None:
            self._converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
        name = f"json-{len(self._json_rules) + 1}"
        try:
            resolved = self._converter.resolve_refs(schema, name)
            rule = self._converter.visit(resolved, name)
        except (ValueError, KeyError, TypeError, NotImplementedError, AssertionError) as error:
            raise SchemaError(f"grammar: {self.dialect} cannot express the schema {key[:200]}: {error}",
                              param="tools") from None
        self._json_rules[key] = rule
        return rule

    # -- free text ----------------------------------------------------------------------

    def text(self, text: Text) -> str:
        """Free text with its restrictions (see `Text`)."""
        forbidden = Text.joined(text.not_containing)
        opening_excluded = Text.joined(text.not_opening)[:1]
        starting = Text.joined(text.not_starting)
        if starting and (text.word_first or opening_excluded):
            if starting[0] not in opening_excluded or forbidden:
                raise _unsupported()(f"{self.dialect}: free text restricted in its opening in two ways")
            starting = ""  # not opening with its first character, it cannot start with it
        if forbidden and (text.word_first or opening_excluded):
            raise _unsupported()(f"{self.dialect}: free text restricted both in its opening and its content")
        if starting:
            return self._not_starting(starting, forbidden)
        if forbidden:
            return self._not_containing(forbidden)
        anything = self.helper("any-text", f"[^{_class_chars(chr(0))}]*")
        if not text.word_first and not opening_excluded:
            return anything
        spaces = self.helper("spaces", f"[{_class_chars(SPACES)}]*")
        excluded = SPACES + chr(0) + opening_excluded + (_ASCII_NON_WORD if text.word_first else "")
        first = f"[^{_class_chars(excluded)}]"
        if text.word_first:
            return f"{spaces} {first} {anything}"
        return f"{spaces} ({first} {anything})?"

    def _not_containing(self, forbidden: str) -> str:
        """Rules for text that does not contain `forbidden`: state i = the longest prefix
        of `forbidden` that the text ends with has i characters."""
        if forbidden in self._without:
            return self._without[forbidden]
        stem = f"text-without-{len(self._without) + 1}"
        self._without[forbidden] = f"{stem}-0"
        failure = _failure(forbidden)
        size = len(forbidden)
        for state in range(size):
            moves: dict[str, int] = {}
            for char in set(forbidden):
                moves[char] = _step(forbidden, failure, state, char)
            branches = [f"{quote(char)} {stem}-{target}" for char, target in sorted(moves.items())
                        if 0 < target < size]
            others = "".join(char for char, target in moves.items() if target != 0) + chr(0)
            options = [f"[^{_class_chars(others)}] {stem}-0", *branches]
            self.helpers[f"{stem}-{state}"] = "(" + " | ".join(options) + ")?"
        return f"{stem}-0"


    def _not_starting(self, prefix: str, forbidden: str) -> str:
        """Rules for text that does not start with `prefix` (nor contain `forbidden`,
        when given): state i = the text so far is `prefix[:i]`; a character other than
        `prefix[i]` leaves the prefix for good (and continues as text without
        `forbidden`, from the state its match has reached)."""
        key = f"{prefix}\0{forbidden}"
        if key in self._without:
            return self._without[key]
        stem = f"text-not-starting-{len(self._without) + 1}"
        self._without[key] = f"{stem}-0"
        without = self._not_containing(forbidden)[: -len("-0")] if forbidden else ""
        anything = self.helper("any-text", f"[^{_class_chars(chr(0))}]*")
        failure = _failure(forbidden) if forbidden else []
        state = 0  # how much of `forbidden` the text so far ends with
        for depth, expected in enumerate(prefix):
            options: list[str] = []
            if depth + 1 < len(prefix):
                following = _step(forbidden, failure, state, expected) if forbidden else 0
                if following < len(forbidden) or not forbidden:
                    options.append(f"{quote(expected)} {stem}-{depth + 1}")
            if forbidden:
                moves = {char: _step(forbidden, failure, state, char) for char in set(forbidden) if char != expected}
                options += [f"{quote(char)} {without}-{target}" for char, target in sorted(moves.items())
                            if 0 < target < len(forbidden)]
                others = expected + "".join(char for char, target in moves.items() if target != 0) + chr(0)
                options.append(f"[^{_class_chars(others)}] {without}-0")
            else:
                options.append(f"[^{_class_chars(expected + chr(0))}] {anything}")
            self.helpers[f"{stem}-{depth}"] = "(" + " | ".join(options) + ")?"
            if forbidden:
                state = _step(forbidden, failure, state, expected)
                if state == len(forbidden):
                    break  # the prefix itself holds `forbidden`: text cannot go on along it
        return f"{stem}-0"


def _failure(pattern: str) -> list[int]:
    """KMP failure function: for each prefix length, the longest proper border."""
    failure = [0] * (len(pattern) + 1)
    border = 0
    for index in range(1, len(pattern)):
        while border and pattern[index] != pattern[border]:
            border = failure[border]
        if pattern[index] == pattern[border]:
            border += 1
        failure[index + 1] = border
    return failure


def _step(pattern: str, failure: list[int], state: int, char: str) -> int:
    """The automaton's next state after `char` in `state`."""
    while state and pattern[state] != char:
        state = failure[state]
    return state + 1 if pattern[state] == char else 0


def _name(name: str) -> str:
    """IR rule names (`call_1`) as BNF names (`call-1`)."""
    return name.replace("_", "-")


def quote(text: str) -> str:
    """`text` as a double-quoted BNF string."""
    if not text:
        return '""'
    return '"' + "".join(_escape(char, '"\\') for char in text) + '"'


def _class_chars(chars: str) -> str:
    """Characters for use inside `[...]`."""
    return "".join(_escape(char, "\\]^-[") for char in sorted(set(chars)))


def _escape(char: str, specials: str) -> str:
    code = ord(char)
    if char in specials:
        return "\\" + char
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if char != " " and (code < 0x20 or char.isspace() or not char.isprintable()):
        # \u and \U take exactly 4 and 8 digits in both dialects; xgrammar reads \x greedily
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    return char


def _quantifier(low: int, high: int | None) -> str:
    if (low, high) == (0, None):
        return "*"
    if (low, high) == (0, 1):
        return "?"
    if (low, high) == (1, None):
        return "+"
    return f"{{{low},{'' if high is None else high}}}"
