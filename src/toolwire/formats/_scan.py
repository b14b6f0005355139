"""Small scanning helpers shared by the parsers: whitespace, held-back marker prefixes,
JSON values, and JSON call objects (`{"name": ..., "arguments": {...}}`).

Formats import their helpers from here (and `_llama3`, `_jscall`), never from another
format."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Literal, Sequence

from toolwire.types import ParsedCall

__all__ = [
    "CallStatus",
    "held_back",
    "json_object_at",
    "json_prefix_end",
    "read_call_array",
    "read_json_arguments",
    "read_json_call",
    "reject_constant",
    "skip_space",
    "strip_partial",
]

_WHITESPACE = " \t\r\n"

CallStatus = Literal["call", "pending", "invalid"]
"""What a reader found where a call should be: a whole call, the start of one (more text
may complete it), or text that is not a call however it continues."""


def reject_constant(name: str) -> Any:
    """`parse_constant` for decoders: `NaN` and `Infinity` are not JSON, so arguments holding
    them would be invalid JSON text; such output stays content."""
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=reject_constant)


def skip_space(text: str, index: int) -> int:
    """The first index at or after `index` that is not JSON whitespace."""
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def held_back(text: str, markers: Iterable[str]) -> int:
    """How many trailing characters of `text` could be the start of one of `markers`.

    A streaming parser holds these back: they may turn out to open a call."""
    longest = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if text.endswith(marker[:size]):
                longest = size
                break
    return longest


def json_object_at(text: str, start: int) -> tuple[Any, int] | None:
    """Decode the JSON value starting at `text[start]` (after whitespace).

    Returns (value, end index) or None when no complete value is there."""
    try:
        return _decoder.raw_decode(text, skip_space(text, start))
    except ValueError:  # JSONDecodeError, or NaN/Infinity
        return None


def json_prefix_end(text: str, start: int) -> int | None:
    """The end of the JSON object or array opening at `text[start]`, or None if it is not
    closed yet. Counts brackets outside strings; does not validate."""
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def strip_partial(text: str) -> str:
    """Partial arguments text without trailing whitespace, which may yet be dropped."""
    return text.rstrip()


def read_json_arguments(text: str, start: int, *, partial: bool) -> tuple[CallStatus, str, int]:
    """A call's arguments: the JSON object opening at `text[start]` (after whitespace).

    Returns ("call", the object's text as written, its end) when it is complete and valid;
    ("pending", the text so far without trailing whitespace, len(text)) while `partial`
    text has not closed it, or not opened it yet; ("invalid", "", start) otherwise (a value
    that is not an object, or not JSON: `NaN` is not)."""
    index = skip_space(text, start)
    if index == len(text):
        return ("pending", "", len(text)) if partial else ("invalid", "", start)
    if text[index] != "{":
        return "invalid", "", start
    close = json_prefix_end(text, index)
    if close is None:
        return ("pending", strip_partial(text[index:]), len(text)) if partial else ("invalid", "", start)
    decoded = json_object_at(text, index)
    if decoded is None or decoded[1] != close or not isinstance(decoded[0], dict):
        return "invalid", "", start
    return "call", text[index:close], close


# --- JSON call objects (llama3-json, mistral, hermes) -------------------------------------




def _decode(text: str, index: int) -> tuple[Any, int] | None:
    try:
        return _decoder.raw_decode(text, index)
    except ValueError:
        return None


def _members(text: str, start: int) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of each member of the valid JSON object at `text[start]`."""
    members: list[tuple[str, int, int]] = []
    index = skip_space(text, start + 1)
    while text[index] != "}":
        key, index = _decoder.raw_decode(text, index)
        index = skip_space(text, skip_space(text, index) + 1)
        _, end = _decoder.raw_decode(text, index)
        members.append((key, index, end))
        index = skip_space(text, end)
        if text[index] == ",":
            index = skip_space(text, index + 1)
    return members


def _complete_call(text: str, start: int, end: int, argument_keys: Sequence[str], name_key: str) -> ParsedCall | None:
    """The call in the valid object `text[start:end]`: its first `name_key` member (a
    string) and its first arguments member (an object, a string holding one, or null). The
    arguments text is the object exactly as written."""
    members = _members(text, start)
    names = [(s, e) for key, s, e in members if key == name_key]
    if not names:
        return None
    name = json.loads(text[names[0][0]:names[0][1]])
    if not isinstance(name, str) or not name:
        return None
    spans = [(s, e) for key, s, e in members if key in argument_keys]
    if not spans:
        return ParsedCall(name, "{}")
    value_start, value_end = spans[0]
    raw = text[value_start:value_end]
    value = json.loads(raw)
    if isinstance(value, dict):
        return ParsedCall(name, raw)
    if value is None:
        return ParsedCall(name, "{}")
    if isinstance(value, str):
        decoded = _decode(value, skip_space(value, 0))
        if decoded and isinstance(decoded[0], dict) and not value[decoded[1]:].strip():
            return ParsedCall(name, json.dumps(decoded[0], ensure_ascii=False))
    return None


def _string_at(text: str, index: int) -> tuple[str, int] | None:
    if not text.startswith('"', index):
        return None
    decoded = _decode(text, index)
    return decoded if decoded and isinstance(decoded[0], str) else None


def _partial_call(text: str, start: int, argument_keys: Sequence[str], name_key: str) -> ParsedCall | None:
    """A call object still being written, once `{"name": "<full name>",` is there (after
    whole members of other keys: Command R's `"tool_call_id": "0", `). Its arguments grow
    only while the arguments member directly follows the name."""
    index = skip_space(text, start + 1)
    while True:
        key = _string_at(text, index)
        if key is None:
            return None
        index = skip_space(text, key[1])
        if not text.startswith(":", index):
            return None
        index = skip_space(text, index + 1)
        if key[0] == name_key:
            break
        value = _decode(text, index)
        if value is None:
            return None
        index = skip_space(text, value[1])
        if not text.startswith(",", index):
            return None
        index = skip_space(text, index + 1)
    name = _string_at(text, index)
    if name is None or not name[0]:
        return None
    index = skip_space(text, name[1])
    if not text.startswith(",", index):
        return None
    call = ParsedCall(name[0], "", complete=False)
    key = _string_at(text, skip_space(text, index + 1))
    if key is None or key[0] not in argument_keys:
        return call
    index = skip_space(text, key[1])
    if not text.startswith(":", index):
        return call
    index = skip_space(text, index + 1)
    if not text.startswith("{", index):
        return call
    close = json_prefix_end(text, index)
    call.arguments = text[index:close] if close else strip_partial(text[index:])
    return call


def read_json_call(
    text: str, start: int, *, partial: bool, argument_keys: Sequence[str], name_key: str = "name",
) -> tuple[CallStatus, ParsedCall | None, int]:
    """Read the call object that should open at `text[start]`: a JSON object (read
    strictly: no `NaN`) with a non-empty string under `name_key` and arguments under the
    first of `argument_keys` written at its top level.

    Returns ("call", call, end) for a complete call; ("invalid", None, start) when the text
    there is not a call and never will be; with `partial`, ("pending", call or None, len)
    while the object is still open (the call once its name is known)."""
    if not text.startswith("{", start):
        return ("pending", None, len(text)) if partial and start == len(text) else ("invalid", None, start)
    close = json_prefix_end(text, start)
    if close is None:
        if partial:
            return "pending", _partial_call(text, start, argument_keys, name_key), len(text)
        return "invalid", None, start
    decoded = _decode(text, start)
    if decoded is None or decoded[1] != close or not isinstance(decoded[0], dict):
        return "invalid", None, start
    call = _complete_call(text, start, close, argument_keys, name_key)
    return ("call", call, close) if call else ("invalid", None, start)


CallReader = Callable[[str, int, bool], "tuple[CallStatus, ParsedCall | None, int]"]
"""(text, index, partial) -> what `read_json_call` returns, for one call object."""


def read_call_array(text: str, start: int, *, partial: bool, read_call: CallReader) -> tuple[list[ParsedCall], CallStatus, int]:
    """The calls of the JSON array opening at `text[start]` (`[`), each read by
    `read_call`, separated by commas and whitespace.

    Returns (calls, "call", the index after `]`) for a whole array; (calls so far,
    "pending", len(text)) while `partial` text is still inside it (the last call may be
    incomplete); (calls before it, "invalid", index) where an element that is not a call
    starts (`start` itself when the text there is not an array)."""
    if not text.startswith("[", start):
        return [], "invalid", start
    calls: list[ParsedCall] = []
    index = skip_space(text, start + 1)
    if text.startswith("]", index):
        return [], "invalid", start  # `[]`: no call
    while True:
        if index == len(text):
            return calls, ("pending" if partial else "invalid"), index
        status, call, end = read_call(text, index, partial)
        if status == "pending":
            return calls + ([call] if call else []), "pending", len(text)
        if status == "invalid" or call is None:
            return calls, "invalid", index
        calls.append(call)
        index = skip_space(text, end)
        if index == len(text):
            return calls, ("pending" if partial else "invalid"), index
        if text[index] == "]":
            return calls, "call", index + 1
        if text[index] != ",":
            return calls, "invalid", index
        index = skip_space(text, index + 1)
