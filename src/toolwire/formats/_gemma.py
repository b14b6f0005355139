"""Gemma's call arguments, shared by FunctionGemma and Gemma 4: an object written
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
from typing import Any, Mapping

from toolwire.formats._scan import CallStatus, skip_space

__all__ = ["read_arguments", "write_arguments", "write_value"]

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
