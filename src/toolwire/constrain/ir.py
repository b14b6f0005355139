"""The grammar IR: what a constrained turn may be, independent of any grammar dialect.

A `Grammar` is a start expression and named rules. Expressions are small frozen records:

    Literal("text")           literal text (never contains a special token's text)
    Chars("0123456789", 1, 9) a run of `min` to `max` characters of a set (one lexeme)
    Token("<tool_call>", 7)   one special token, by its text and id in the model's vocabulary
    AnyToken(tokens)          any one of these special tokens (free thinking may write them)
    Json(schema)              one JSON value valid against `schema`
    Text(...)                 free text, with the restrictions it carries (see `Text`)
    TextUntil(text, trigger)  free text ended by the first occurrence of `trigger`
    Line()                    any text without a newline (a Python value the schema leaves open)
    Ref("name")               the named rule
    Seq(items)  Alt(options)  Repeat(item, min, max)

Renderers (`lark.py`, `gbnf.py`, `ebnf.py`, `structural_tag.py`) turn a `Grammar` into one
dialect each. Adding a construct: add a record here, produce it in `builder.py`, and give
every renderer a case for it (a renderer that cannot express it raises
`ConstraintUnsupported`, never drops it); `tests/constrain/` checks each dialect accepts
the formats' own replies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

__all__ = [
    "Alt",
    "AnyToken",
    "Chars",
    "Expr",
    "Grammar",
    "Json",
    "Line",
    "Literal",
    "Ref",
    "Repeat",
    "Seq",
    "Text",
    "TextUntil",
    "Token",
    "alt",
    "seq",
    "walk",
]


@dataclass(frozen=True)
class Literal:
    """Literal text."""

    text: str


@dataclass(frozen=True)
class Chars:
    """`min` to `max` characters, each one of `characters` (a call's index or id). One
    lexeme: spelled out as alternatives of one-character literals, a run like this makes
    an Earley parser track too many items."""

    characters: str
    min: int = 1
    max: int | None = None


@dataclass(frozen=True)
class Token:
    """One special token of the model's vocabulary: `text` is how it prints, `id` its id."""

    text: str
    id: int


@dataclass(frozen=True)
class AnyToken:
    """Any one of `tokens`: special tokens that free text may hold in dialects whose text
    cannot produce them (a thinking model may write `<tool_call>` while it thinks)."""

    tokens: tuple[Token, ...]


@dataclass(frozen=True)
class Json:
    """One JSON value valid against `schema` (already closed where it must be), written
    with `, ` and `: ` separators as the formats' templates write it."""

    schema: dict[str, Any]

    def __hash__(self) -> int:
        return hash(json.dumps(self.schema, sort_keys=True))


@dataclass(frozen=True)
class Text:
    """Free text (any characters; never a special token in dialects that tell tokens
    apart), restricted so that it can never carry an unconstrained call:

    - `word_first`: it opens, after whitespace, with a word character or a quote;
    - `not_containing`: it does not contain this text (a trigger that must end it);
    - `not_opening`: it does not open, after whitespace, with the first character of this
      text (the lead-in of a call block, where calls stand alone);
    - `not_starting`: it does not start with this text (the thinking block's opening,
      which the answer may not imitate: a lexer that prefers longer matches would
      otherwise read a thinking block as answer text).

    Both texts are given as pieces (literal runs and special tokens). A dialect whose free
    text cannot produce a special token (Lark) needs no restriction for a text that starts
    with one; dialects that match tokens by their text (GBNF, xgrammar) do."""

    word_first: bool = False
    not_containing: tuple[Literal | Token, ...] = ()
    not_opening: tuple[Literal | Token, ...] = ()
    not_starting: tuple[Literal | Token, ...] = ()

    @staticmethod
    def joined(pieces: tuple[Literal | Token, ...]) -> str:
        """The text of `pieces`."""
        return "".join(piece.text for piece in pieces)


@dataclass(frozen=True)
class TextUntil:
    """`text` up to the first occurrence of `trigger`, the trigger included (a lazy rule in
    Lark; text-not-containing-the-trigger followed by the trigger elsewhere)."""

    text: Text
    trigger: str


@dataclass(frozen=True)
class Line:
    """Any text without a newline."""


@dataclass(frozen=True)
class Ref:
    """The rule called `name`."""

    name: str


@dataclass(frozen=True)
class Seq:
    """The items one after another (none: the empty string)."""

    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Alt:
    """One of the options."""

    options: tuple["Expr", ...]


@dataclass(frozen=True)
class Repeat:
    """`item` between `min` and `max` times (`max` None: unbounded)."""

    item: "Expr"
    min: int = 0
    max: int | None = None


Expr = Union[Literal, Chars, Token, AnyToken, Json, Text, TextUntil, Line, Ref, Seq, Alt, Repeat]


@dataclass
class Grammar:
    """A start expression and the rules it refers to, in the order they were made."""

    start: Expr
    rules: dict[str, Expr] = field(default_factory=dict)

    def expressions(self) -> Iterator[Expr]:
        """Every expression in the start and the rules, depth first."""
        yield from walk(self.start)
        for body in self.rules.values():
            yield from walk(body)


def walk(expr: Expr) -> Iterator[Expr]:
    """`expr` and everything inside it, depth first."""
    yield expr
    if isinstance(expr, Seq):
        for item in expr.items:
            yield from walk(item)
    elif isinstance(expr, Alt):
        for option in expr.options:
            yield from walk(option)
    elif isinstance(expr, Repeat):
        yield from walk(expr.item)
    elif isinstance(expr, TextUntil):
        yield expr.text


def seq(*items: Expr | None) -> Expr:
    """A sequence without empty literals or Nones; one item stands for itself."""
    kept = tuple(item for item in items if item is not None and item != Literal("") and item != Seq(()))
    return kept[0] if len(kept) == 1 else Seq(kept)


def alt(*options: Expr) -> Expr:
    """One of `options`; one option stands for itself."""
    return options[0] if len(options) == 1 else Alt(tuple(options))
