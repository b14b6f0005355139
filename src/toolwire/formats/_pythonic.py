"""Python-list tool calls, shared by the pythonic formats (Llama 3.2, Llama 4, LFM2):
`[get_weather(city="Paris", days=3), get_time()]`, written and read back.

Values are Python literals (strings, numbers, `True`/`False`/`None`, lists, dicts; JSON's
`true`/`false`/`null` are read too). The list is read with `ast.parse(..., mode="eval")`
and each value with `ast.literal_eval`: nothing is evaluated. Positional arguments are
mapped to the tool's parameters in schema order when the tool is known, else the call is
not a call. A string argument whose parameter cannot be a string is read as the literal
it spells when that fits the schema (Llama 4's template writes every value as
`key="%s"`: `days="3"`, `vip="True"`). A call's arguments are JSON text,
`json.dumps(kwargs)`; as they are transformed, a call appears whole when its `)` closes.
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any, Sequence

from toolwire.formats._scan import skip_space
from toolwire.types import ParsedCall, ParsedMessage, Tool

__all__ = ["call_text", "literal", "read_call_list"]

_HEAD = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\(")
_MAYBE_HEAD = re.compile(r"[A-Za-z_][\w.]*\s*")
_JSON_NAMES = {"true": True, "false": False, "null": None}
_JSON_TYPES = {"string": str, "boolean": bool, "null": type(None), "array": list, "object": dict}


# --- writing Python literals ------------------------------------------------------------


def literal(value: Any) -> str:
    """A JSON value as Python literal text; strings in double quotes."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """`name(key=literal, ...)`."""
    return name + "(" + ", ".join(f"{key}={literal(value)}" for key, value in arguments.items()) + ")"


# --- reading calls ----------------------------------------------------------------------


class _JsonNames(ast.NodeTransformer):
    """`true`/`false`/`null` as the constants they mean in JSON."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _JSON_NAMES:
            return ast.copy_location(ast.Constant(_JSON_NAMES[node.id]), node)
        return node


def _jsonable(value: Any) -> Any:
    """A literal as a JSON value: tuples become lists; sets, bytes, complex numbers,
    non-finite floats and non-string keys are refused."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _jsonable(item) for key, item in value.items()}
    raise ValueError(f"not a JSON value: {type(value).__name__}")


def _value(node: ast.expr) -> Any:
    return _jsonable(ast.literal_eval(_JsonNames().visit(node)))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _properties(name: str, tools: Sequence[Tool]) -> dict[str, Any] | None:
    for tool in tools:
        if tool.name == name:
            return dict(((tool.function.parameters or {}).get("properties") or {}))
    return None


def _fits(value: Any, schema: Any) -> bool:
    """Whether `value` has a JSON type `schema` names (numbers: `integer` or `number`)."""
    types = schema.get("type") if isinstance(schema, dict) else None
    names = types if isinstance(types, list) else [types]
    for name in names:
        if name in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
            if name == "number" or isinstance(value, int):
                return True
        elif name in _JSON_TYPES and isinstance(value, _JSON_TYPES[name]) and not (name != "boolean" and isinstance(value, bool)):
            return True
    return False


def _typed(value: Any, schema: Any) -> Any:
    """A string written for a parameter that cannot be a string, read as the literal it
    spells (`"3"` -> 3) when that fits the schema; any other value unchanged."""
    types = schema.get("type") if isinstance(schema, dict) else None
    if not isinstance(value, str) or types is None or "string" in (types if isinstance(types, list) else [types]):
        return value
    try:
        spelled = _value(ast.parse(value.strip(), mode="eval").body)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return value
    return spelled if _fits(spelled, schema) else value


def _call(source: str, tools: Sequence[Tool]) -> ParsedCall | None:
    """The call written in `source` (`name(...)`), or None when it is not a valid call."""
    try:
        node = ast.parse(source, mode="eval").body
        if not isinstance(node, ast.Call):
            return None
        name = _dotted(node.func)
        if name is None:
            return None
        properties = _properties(name, tools)
        arguments: dict[str, Any] = {}
        if node.args:
            if properties is None or len(node.args) > len(properties):
                return None
            arguments.update(zip(properties, (_value(arg) for arg in node.args)))
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg in arguments:
                return None
            arguments[keyword.arg] = _value(keyword.value)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    if properties:
        arguments = {key: _typed(value, properties.get(key)) for key, value in arguments.items()}
    return ParsedCall(name, json.dumps(arguments, ensure_ascii=False))


def _closing_paren(text: str, start: int) -> int | None:
    """The index of the bracket that closes the `(` at `text[start]`, skipping Python
    strings; None when the text ends first."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char in "\"'":
            quote = char * 3 if text.startswith(char * 3, index) else char
            index += len(quote)
            while not text.startswith(quote, index):
                if index >= len(text):
                    return None
                index += 2 if text[index] == "\\" else 1
            index += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def read_call_list(text: str, index: int, *, partial: bool, tools: Sequence[Tool]) -> tuple[ParsedMessage, int | None]:
    """Read the calls of the list whose `[` was just before `index`.

    Returns the calls and the index after the closing `]`, or None for that index when the
    list ended early: with `partial`, at the end of the text (a call still being written);
    else at the first element that is not a call, whose text (all of it from `index - 1`
    when no call came before) is then the message's content. Nothing is lost."""
    result = ParsedMessage()
    opening = index - 1

    def not_a_call(at: int) -> tuple[ParsedMessage, None]:
        result.content = text[at:] if result.calls else text[opening:]
        return result, None

    while True:
        index = skip_space(text, index)
        head = _HEAD.match(text, index)
        if head is None:
            maybe = _MAYBE_HEAD.match(text, index)
            if partial and (maybe.end() if maybe else index) == len(text):
                return result, None  # a name still being written
            return not_a_call(index)
        close = _closing_paren(text, head.end() - 1)
        if close is None:
            return (result, None) if partial else not_a_call(index)
        call = _call(text[index:close + 1], tools)
        if call is None:
            return not_a_call(index)
        result.calls.append(call)
        index = skip_space(text, close + 1)
        if index == len(text):
            return (result, None) if partial else not_a_call(index)
        if text[index] == ",":
            index = skip_space(text, index + 1)
            if not text.startswith("]", index):
                continue
        if text[index] != "]":
            return not_a_call(index)
        return result, index + 1
