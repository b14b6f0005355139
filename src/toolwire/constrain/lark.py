"""The IR as an llguidance Lark grammar (the in-process engine, toolwire upstreams, vLLM
and SGLang servers running the guidance / llguidance backend).

Why lazy text instead of an external trigger watch: llguidance already runs an Earley
parser over lexemes, so "free text, then a call once the trigger appears" is just a
grammar. Free text is `/(?s:.*)/`, which can never produce a special token, so a text
followed by a special-token trigger ends exactly where the model emits that token; a
plain-text trigger ends a `lazy` rule (it ends at the first occurrence of the trigger),
as in llguidance's tool-calling recipe, and the free text is intersected with the
negation of the trigger. Wherever the grammar may end, llguidance admits the model's
end-of-generation tokens.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from toolwire.constrain.builder import build_grammar
from toolwire.constrain.constraints import Constraint, LarkConstraint, Vocabulary
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

__all__ = ["JSON_STYLE", "lark_grammar", "render_lark"]

JSON_STYLE = {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": False, "lenient": True}
"""llguidance JSON options: the separators every format's templates write, and `lenient`,
which ignores keywords and formats llguidance does not know (as OpenAI does) instead of
refusing the schema. Schemas it still cannot compile (regex lookarounds, unsatisfiable
constraints) are refused with an error naming the tool: a tool that cannot be constrained
cannot keep toolwire's promise that every call validates, so there is no silent fallback
to unconstrained generation."""

_LINE = "PY_ANY"
_LINE_TERMINAL = "PY_ANY: /[^\\n]*/"


def lark_grammar(constraint: Constraint, vocabulary: Vocabulary = Vocabulary()) -> str:
    """The llguidance Lark grammar for `constraint`, with `vocabulary`'s special tokens
    emitted as tokens."""
    if isinstance(constraint, LarkConstraint):
        return constraint.grammar
    return render_lark(build_grammar(constraint, vocabulary))


def render_lark(grammar: Grammar) -> str:
    """`grammar` in llguidance's Lark syntax."""
    return _LarkWriter(grammar).write()


class _LarkWriter:
    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.texts: dict[Text, str] = {}
        for expr in grammar.expressions():
            if isinstance(expr, Text) and expr not in self.texts:
                self.texts[expr] = "TEXT" if not self.texts else f"TEXT_{len(self.texts) + 1}"

    def write(self) -> str:
        lines = ["%llguidance {}", f"start: {self.body(self.grammar.start)}"]
        lines += [f"{name}: {_text_terminal(text)}" for text, name in self.texts.items()]
        for name, body in self.grammar.rules.items():
            if isinstance(body, TextUntil):
                lines.append(f"{name}[lazy]: {self.item(body.text)} {_string(body.trigger)}")
            else:
                lines.append(f"{name}: {self.body(body)}")
        if any(isinstance(expr, Line) for expr in self.grammar.expressions()):
            lines.append(_LINE_TERMINAL)
        return "\n".join(lines) + "\n"

    def body(self, expr: Expr) -> str:
        """A rule's right-hand side: alternatives without parentheses."""
        if isinstance(expr, Alt):
            return " | ".join(self.option(option) for option in expr.options)
        return self.option(expr)

    def option(self, expr: Expr) -> str:
        if isinstance(expr, Seq):
            return " ".join(self.item(item) for item in expr.items) or '""'
        return self.item(expr)

    def item(self, expr: Expr) -> str:
        if isinstance(expr, Literal):
            return _string(expr.text)
        if isinstance(expr, Token):
            return f"<[{expr.id}]>"
        if isinstance(expr, AnyToken):
            return f"<[{_id_ranges(token.id for token in expr.tokens)}]>"
        if isinstance(expr, Chars):
            return "/[" + "".join(_class_char(char) for char in dict.fromkeys(expr.characters)) + "]" + _quantifier(expr.min, expr.max) + "/"
        if isinstance(expr, Json):
            return json_directive(expr.schema)
        if isinstance(expr, Text):
            return self.texts[expr]
        if isinstance(expr, Line):
            return _LINE
        if isinstance(expr, Ref):
            return expr.name
        if isinstance(expr, Seq):
            return " ".join(self.item(item) for item in expr.items) or '""'
        if isinstance(expr, Alt):
            return "(" + " | ".join(self.option(option) for option in expr.options) + ")"
        if isinstance(expr, Repeat):
            inner = self.item(expr.item)
            if isinstance(expr.item, Seq):
                inner = f"({inner})"
            return inner + _quantifier(expr.min, expr.max)
        raise TypeError(f"Lark cannot render {expr!r} here")  # TextUntil is a rule body only


def _id_ranges(ids: Iterable[int]) -> str:
    """Token ids as llguidance's ranges: `3,7-9`."""
    ranges: list[list[int]] = []
    for tid in sorted(set(ids)):
        if ranges and tid == ranges[-1][1] + 1:
            ranges[-1][1] = tid
        else:
            ranges.append([tid, tid])
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def json_directive(schema: dict[str, Any]) -> str:
    """`%json` with toolwire's separators."""
    return "%json " + json.dumps({**schema, "x-guidance": JSON_STYLE}, ensure_ascii=False)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _quantifier(low: int, high: int | None) -> str:
    if (low, high) == (0, None):
        return "*"
    if (low, high) == (0, 1):
        return "?"
    if (low, high) == (1, None):
        return "+"
    return f"{{{low},{'' if high is None else high}}}"


def _text_terminal(text: Text) -> str:
    """The regex of free text: restrictions whose text starts with a special token need
    no regex, since a regex cannot produce a special token."""
    base = "/\\s*[\\w\"'](?s:.*)/" if text.word_first else "/(?s:.*)/"
    excluded: list[str] = []
    if text.not_containing and isinstance(text.not_containing[0], Literal):
        excluded.append("/(?s:.*)" + _regex_literal(text.not_containing[0].text) + "(?s:.*)/")
    if text.not_opening and isinstance(text.not_opening[0], Literal):
        excluded.append("/\\s*" + _regex_literal(text.not_opening[0].text[0]) + "(?s:.*)/")
    if text.not_starting and isinstance(text.not_starting[0], Literal):
        excluded.append("/" + _regex_literal(text.not_starting[0].text) + "(?s:.*)/")
    return " & ".join([base] + [f"~{regex}" for regex in excluded])


def _class_char(char: str) -> str:
    """`char` inside a regex character class."""
    return char if char.isalnum() else "\\" + char


def _regex_literal(text: str) -> str:
    """`text` as a literal inside a Lark /regex/."""
    out = []
    for char in text:
        if char == "\n":
            out.append("\\n")
        elif char.isalnum() or char in " _-:'\"<>,=" or not char.isascii():
            out.append(char)  # the regex engine refuses escapes of non-ASCII characters (DeepSeek's `｜`)
        else:
            out.append("\\" + char)
    return "".join(out)
