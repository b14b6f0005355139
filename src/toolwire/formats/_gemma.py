"""Gemma's calls, shared by FunctionGemma and Gemma 4: `call:NAME{...}` between two
markers, arguments an object written
`{key:value,...}` with bare keys in sorted order, strings between two delimiters and never
escaped, and other values as in JSON::

    {city:<|"|>Paris<|"|>,days:3,guests:[{age:7,name:<|"|>Zoë<|"|>}],vip:true}

(FunctionGemma's delimiter is `<escape>`, Gemma 4's `<|"|>`). A string therefore cannot
hold its delimiter. The reader also takes what Gemma templates write in the history:
keys between delimiters, `None`/`True`/`False`, and (vLLM's FunctionGemma template) every
value as a delimited string, `vip:<escape>True<escape>`: a string given for a parameter
that cannot be a string is read as the literal it spells when that fits the schema.
Nothing is evaluated: literals are read with `json` or `ast.literal_eval`.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from toolwire.formats._scan import CallStatus, held_back, skip_space
from toolwire.types import ParsedCall, ParsedMessage, Tool

__all__ = ["GemmaCalls", "read_arguments", "write_arguments", "write_value"]

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[0-9]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?")
_WORDS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_WORD = re.compile(r"[A-Za-z]+")
_KEY_END = re.compile(r"[:{}\[\],]")
_TYPES = {"string": (str,), "boolean": (bool,), "null": (type(None),), "array": (list,), "object": (dict,),
          "integer": (int,), "number": (int, float)}


# --- writing ------------------------------------------------------------------------------


def write_value(value: Any, delimiter: str) -> str:
    """One JSON value in Gemma's syntax; object keys bare and sorted."""
    if isinstance(value, str):
        return delimiter + value + delimiter
    if isinstance(value, dict):
        return write_arguments(value, delimiter)
    if isinstance(value, list):
        return "[" + ",".join(write_value(item, delimiter) for item in value) + "]"
    return json.dumps(value)


def write_arguments(arguments: Mapping[str, Any], delimiter: str) -> str:
    """`{key:value,...}`, keys in sorted order as Gemma's templates write them."""
    return "{" + ",".join(f"{key}:{write_value(arguments[key], delimiter)}" for key in sorted(arguments)) + "}"


# --- reading ------------------------------------------------------------------------------


class _Incomplete(Exception):
    """The text ended inside the value."""


class _Invalid(Exception):
    """The text is not a value, however it continues."""


class _Reader:
    def __init__(self, text: str, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter

    def space(self, index: int) -> int:
        index = skip_space(self.text, index)
        if index == len(self.text):
            raise _Incomplete
        return index

    def value(self, index: int) -> tuple[Any, int]:
        index = self.space(index)
        text = self.text
        if text.startswith(self.delimiter, index):
            return self.string(index)
        if self.delimiter.startswith(text[index:]):
            raise _Incomplete
        char = text[index]
        if char == "{":
            return self.object(index)
        if char == "[":
            return self.array(index)
        word = _WORD.match(text, index)
        if word:
            if word.end() == len(text) and any(name.startswith(word.group()) for name in _WORDS):
                raise _Incomplete
            if word.group() not in _WORDS:
                raise _Invalid
            return _WORDS[word.group()], word.end()
        number = _NUMBER.match(text, index)
        if number is None:
            if char == "-" and index + 1 == len(text):
                raise _Incomplete
            raise _Invalid
        if _NUMBER_TAIL.match(text, number.end()).end() == len(text):
            raise _Incomplete  # more digits, a fraction or an exponent may follow
        value = json.loads(number.group())
        if isinstance(value, float) and not math.isfinite(value):
            raise _Invalid
        return value, number.end()

    def string(self, index: int) -> tuple[str, int]:
        start = index + len(self.delimiter)
        end = self.text.find(self.delimiter, start)
        if end < 0:
            raise _Incomplete
        return self.text[start:end], end + len(self.delimiter)

    def key(self, index: int) -> tuple[str, int]:
        if self.text.startswith(self.delimiter, index):
            return self.string(index)
        end = _KEY_END.search(self.text, index)
        if end is None:
            raise _Incomplete
        key = self.text[index:end.start()].strip()
        if not key or self.text[end.start()] != ":":
            raise _Invalid
        return key, end.start()

    def object(self, index: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        index = self.space(index + 1)
        if self.text[index] == "}":
            return result, index + 1
        while True:
            key, index = self.key(index)
            index = self.space(index)
            if self.text[index] != ":" or key in result:
                raise _Invalid
            result[key], index = self.value(index + 1)
            index = self.space(index)
            if self.text[index] == "}":
                return result, index + 1
            if self.text[index] != ",":
                raise _Invalid
            index = self.space(index + 1)

    def array(self, index: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        index = self.space(index + 1)
        if self.text[index] == "]":
            return result, index + 1
        while True:
            item, index = self.value(index)
            result.append(item)
            index = self.space(index)
            if self.text[index] == "]":
                return result, index + 1
            if self.text[index] != ",":
                raise _Invalid
            index = self.space(index + 1)


def _fits(value: Any, schema: Any) -> bool:
    types = schema.get("type") if isinstance(schema, dict) else None
    for name in types if isinstance(types, list) else [types]:
        allowed = _TYPES.get(name or "", ())
        if isinstance(value, allowed) and not (isinstance(value, bool) and name != "boolean"):
            return True
    return False


def _spelled(text: str) -> Any:
    """The JSON value a string spells as JSON or as a Python literal; raises ValueError."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        value = ast.literal_eval(text.strip())
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        raise ValueError(text) from None
    json.dumps(value, allow_nan=False)  # ValueError/TypeError for sets, NaN...
    return json.loads(json.dumps(value))


def _typed(value: Any, schema: Any) -> Any:
    """A string given for a parameter that cannot be a string, as the literal it spells
    when that fits the schema; any other value unchanged."""
    types = schema.get("type") if isinstance(schema, dict) else None
    if not isinstance(value, str) or types is None or "string" in (types if isinstance(types, list) else [types]):
        return value
    try:
        spelled = _spelled(value)
    except (ValueError, TypeError):
        return value
    return spelled if _fits(spelled, schema) else value


def read_arguments(
    text: str, start: int, delimiter: str, *, partial: bool, properties: Mapping[str, Any] | None = None,
) -> tuple[CallStatus, str, int]:
    """The arguments object opening at `text[start]` as JSON text.

    Returns ("call", JSON text, end) for a complete object; ("pending", "", len(text))
    while `partial` text has not closed it; ("invalid", "", start) otherwise. Top-level
    values are typed by the parameters' schemas in `properties`."""
    reader = _Reader(text, delimiter)
    try:
        index = reader.space(start)
        if text[index] != "{":
            raise _Invalid
        arguments, end = reader.object(index)
    except _Incomplete:
        return ("pending", "", len(text)) if partial else ("invalid", "", start)
    except _Invalid:
        return "invalid", "", start
    if properties:
        arguments = {key: _typed(value, properties.get(key)) for key, value in arguments.items()}
    return "call", json.dumps(arguments, ensure_ascii=False), end


# --- calls ------------------------------------------------------------------------------------


def _properties(name: str, tools: Sequence[Tool]) -> dict[str, Any] | None:
    for tool in tools:
        if tool.name == name:
            return (tool.function.parameters or {}).get("properties") or {}
    return None


@dataclass(frozen=True)
class GemmaCalls:
    """Calls `{start}call:NAME{...}{end}` one after another, with strings between
    `delimiter`s; `closing`: what the model may write after its last call (Gemma 4's
    `<|tool_response>`, asking for the results)."""

    start: str
    end: str
    delimiter: str
    closing: str = ""

    @property
    def head(self) -> str:
        return self.start + "call:"

    def parse(self, text: str, *, partial: bool, tools: Sequence[Tool]) -> ParsedMessage:
        """Text, then the calls; text after them is content too (before `closing`, if it
        ends with that). A call that does not
        read is content from its `start` marker on (calls before it are kept)."""
        result = ParsedMessage()
        start = text.find(self.start)
        if start < 0:
            result.content = text[:len(text) - held_back(text, [self.start])] if partial else text
            return result
        result.content = text[:start]
        index = start
        while True:
            status, end = self._read_call(text, index, partial, tools, result)
            if status == "pending":
                return result
            if status == "invalid":
                result.content += text[index:]
                return result
            index = skip_space(text, end)
            if text.startswith(self.start, index):
                continue
            if self.closing and text.startswith(self.closing, index):
                end = index + len(self.closing)
            rest = text[end:]
            if self.closing and end <= index and rest.rstrip().endswith(self.closing):
                # text after the calls, then the closing (Gemma 4's template writes a turn so)
                rest = rest.rstrip()[:-len(self.closing)]
            if partial:
                rest = rest[:len(rest) - held_back(rest, [self.start, self.closing] if self.closing else [self.start])]
            result.content += rest if rest.strip() else ""
            return result

    def _read_call(
        self, text: str, at: int, partial: bool, tools: Sequence[Tool], result: ParsedMessage,
    ) -> tuple[CallStatus, int]:
        """Read the call whose `start` marker is at `at` into `result`."""
        if not text.startswith(self.head, at):
            return ("pending", len(text)) if partial and self.head.startswith(text[at:]) else ("invalid", at)
        name_start = at + len(self.head)
        brace = text.find("{", name_start)
        name = text[name_start:len(text) if brace < 0 else brace]
        if any(char.isspace() or char in "<>:,}[]" for char in name):
            return "invalid", at
        if brace < 0:
            return ("pending", len(text)) if partial else ("invalid", at)
        if not name:
            return "invalid", at
        status, arguments, end = read_arguments(
            text, brace, self.delimiter, partial=partial, properties=_properties(name, tools))
        if status == "invalid":
            return "invalid", at
        if status == "pending":
            result.calls.append(ParsedCall(name, arguments, complete=False))
            return "pending", len(text)
        close = skip_space(text, end)
        if text.startswith(self.end, close):
            result.calls.append(ParsedCall(name, arguments))
            return "call", close + len(self.end)
        if partial and self.end.startswith(text[close:]):
            result.calls.append(ParsedCall(name, arguments, complete=False))
            return "pending", len(text)
        result.calls.append(ParsedCall(name, arguments))  # its end marker left out
        return "call", end
