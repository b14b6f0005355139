"""What Mistral's formats share: 9-character call ids, and the v11+ calls
`[TOOL_CALLS]NAME[CALL_ID]ID[ARGS]{...}` (the id is optional) that Mistral Small 3.2,
Devstral, Magistral and Ministral 3 write, one `[TOOL_CALLS]` per call."""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any

from toolwire.formats._scan import held_back, read_json_arguments, skip_space
from toolwire.types import ParsedCall, ParsedMessage

__all__ = [
    "ALPHANUMERICS", "ARGS", "CALLS", "CALL_ID_MARKER", "END_THINK", "ID_LENGTH", "THINK", "mistral_call_id", "nine_character_ids",
    "parse_v11",
]

CALLS = "[TOOL_CALLS]"
THINK = "[THINK]"
END_THINK = "[/THINK]"
CALL_ID_MARKER = "[CALL_ID]"
ARGS = "[ARGS]"
ALPHANUMERICS = string.ascii_letters + string.digits
ID_LENGTH = 9
_NAME = re.compile(r"[\w.\-]+")


def mistral_call_id(call_id: str) -> str:
    """A call id as Mistral's templates need it: 9 alphanumerics. Other ids keep their last
    9 alphanumerics, or (when shorter) become 9 derived from a hash of the id."""
    kept = "".join(char for char in call_id if char in ALPHANUMERICS)
    if len(kept) >= ID_LENGTH:
        return kept[-ID_LENGTH:]
    digest = int.from_bytes(hashlib.sha256(call_id.encode()).digest(), "big")
    chars = []
    for _ in range(ID_LENGTH):
        digest, index = divmod(digest, len(ALPHANUMERICS))
        chars.append(ALPHANUMERICS[index])
    return "".join(chars)


def nine_character_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Message dicts with every call id and result id mapped by `mistral_call_id`."""
    adapted = []
    for message in messages:
        if message.get("tool_calls"):
            message = {**message, "tool_calls": [{**call, "id": mistral_call_id(call.get("id") or "")}
                                                 for call in message["tool_calls"]]}
        elif message.get("role") == "tool":
            message = {**message, "tool_call_id": mistral_call_id(message.get("tool_call_id") or message.get("name") or "")}
        adapted.append(message)
    return adapted


def parse_v11(text: str, *, partial: bool) -> ParsedMessage:
    """Read `text [TOOL_CALLS]NAME[CALL_ID]ID[ARGS]{...}[TOOL_CALLS]...` (whitespace
    allowed between calls; text after the calls is content). A call appears once `[ARGS]`
    follows its name; the id the model wrote is the call's id. From the first
    `[TOOL_CALLS]` that does not start a call, the rest is content."""
    result = ParsedMessage()
    marker = text.find(CALLS)
    if marker < 0:
        result.content = text[:len(text) - held_back(text, [CALLS])] if partial else text
        return result
    result.content = text[:marker]
    index = marker
    while True:
        status, end = _read_call(text, index, partial, result)
        if status == "pending":
            return result
        if status == "invalid":
            result.content += text[index:]
            return result
        index = skip_space(text, end)
        if text.startswith(CALLS, index):
            continue
        rest = text[end:]
        if partial:
            rest = rest[:len(rest) - held_back(rest, [CALLS])]
        result.content += rest if rest.strip() else ""  # whitespace between calls and the end is no text
        return result


def _read_call(text: str, at: int, partial: bool, result: ParsedMessage) -> tuple[str, int]:
    """Read the call whose `[TOOL_CALLS]` is at `at` into `result`."""
    head = at + len(CALLS)
    args = text.find(ARGS, head)
    name, _, call_id = text[head:len(text) if args < 0 else args].partition(CALL_ID_MARKER)
    if args < 0:
        return ("pending", len(text)) if partial and _may_become_head(text[head:]) else ("invalid", at)
    if not _NAME.fullmatch(name) or (CALL_ID_MARKER in text[head:args] and not call_id.isalnum()):
        return "invalid", at
    status, arguments, end = read_json_arguments(text, args + len(ARGS), partial=partial)
    if status == "invalid":
        return "invalid", at
    call = ParsedCall(name, arguments, complete=status == "call", id=call_id or None)
    result.calls.append(call)
    return status, end


def _may_become_head(tail: str) -> bool:
    """Whether `tail` (after `[TOOL_CALLS]`) may still become `NAME[CALL_ID]ID[ARGS]`."""
    tail = tail[:len(tail) - held_back(tail, [ARGS, CALL_ID_MARKER])]
    name, _, call_id = tail.partition(CALL_ID_MARKER)
    return (not name or bool(_NAME.fullmatch(name))) and (not call_id or call_id.isalnum())
