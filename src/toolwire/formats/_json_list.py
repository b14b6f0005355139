"""A JSON list of call objects after a marker, as Nemotron and Granite 3 write them::

    Let me check.
    <TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]</TOOLCALL>

Each element is read by `_scan.read_json_call` (strict JSON, `"arguments"` or
`"parameters"`, arguments as written); a closing tag after the list is optional. Text
before the marker is content (its trailing whitespace aside), so is text after the block.
A block that does not read is content from its first bad element, or from the marker when
no call in it read: nothing is lost.
"""

from __future__ import annotations

from toolwire.formats._scan import held_back, read_json_call, skip_space
from toolwire.types import ParsedMessage

__all__ = ["parse_listed_calls"]

ARGUMENT_KEYS = ("arguments", "parameters")


def parse_listed_calls(text: str, *, partial: bool, begin: str, end: str = "") -> ParsedMessage:
    """Content and calls of `text`: text, `begin`, a JSON list of calls, `end`, text."""
    result = ParsedMessage()
    marker = text.find(begin)
    if marker < 0:
        result.content = text[: len(text) - held_back(text, [begin])].rstrip() if partial else text
        return result
    index = skip_space(text, marker + len(begin))
    if index == len(text) and partial:
        result.content = text[:marker].rstrip()
        return result
    if not text.startswith("[", index):
        result.content = text
        return result
    index = skip_space(text, index + 1)
    closed = text.startswith("]", index)
    while not closed:
        status, call, after = read_json_call(text, index, partial=partial, argument_keys=ARGUMENT_KEYS)
        if status == "pending":
            result.content = text[:marker].rstrip()
            result.calls += [call] if call else []
            return result
        if status == "invalid":
            if not result.calls:
                result.content = text
                return result
            result.content = text[:marker].rstrip() + text[index:]
            return result
        assert call is not None
        result.calls.append(call)
        index = skip_space(text, after)
        if text.startswith(",", index):
            index = skip_space(text, index + 1)
        elif text.startswith("]", index):
            closed = True
        elif index == len(text):
            if not partial:
                break  # a list cut off after a complete call keeps it
            result.content = text[:marker].rstrip()
            return result
        else:
            result.content = text[:marker].rstrip() + text[index:]
            return result
    result.content = text[:marker].rstrip()
    if not closed:
        return result
    rest = skip_space(text, index + 1)
    if end and text.startswith(end, rest):
        rest = skip_space(text, rest + len(end))
    elif end and partial and end.startswith(text[rest:]):
        return result
    tail = text[rest:]
    if partial:
        tail = tail[: len(tail) - held_back(tail, [begin])]
    result.content += tail
    return result
