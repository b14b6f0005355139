"""The thinking block a reasoning model may write before its answer, read off the front of
its output: `begin` REASONING `end`, as a format's `ReasoningSyntax` declares it.

Only a block at the very start counts (after whitespace), so a call trigger written inside
the block is reasoning text, never a call, and a block marker written later in the answer
is answer text. The reasoning is the block's text without surrounding whitespace (templates
write `<|channel>thought\\n...\\n<channel|>`); while streaming, trailing whitespace is held
back until more text shows whether it is trailing. A block that never closes is all
reasoning: nothing is lost.
"""

from __future__ import annotations

from typing import Callable

from toolwire.formats._scan import held_back, skip_space
from toolwire.formats.base import ReasoningSyntax
from toolwire.types import ParsedMessage

__all__ = ["parse_with_reasoning", "split_reasoning"]


def split_reasoning(text: str, syntax: ReasoningSyntax | None, *, partial: bool) -> tuple[str, int | None]:
    """(reasoning, index where the answer starts). The index is None while `partial` text
    may still open the block or is still inside it."""
    if syntax is None:
        return "", 0
    if syntax.opened_by_prompt:
        body = 0
    else:
        start = skip_space(text, 0)
        if text.startswith(syntax.begin, start):
            body = start + len(syntax.begin)
        elif partial and syntax.begin.startswith(text[start:]):
            return "", None  # nothing yet, or the start of the block's marker
        else:
            return "", 0
    end = text.find(syntax.end, body)
    if end >= 0:
        answer = end + len(syntax.end)
        if syntax.separator and text.startswith(syntax.separator, answer):
            answer += len(syntax.separator)
        elif partial and syntax.separator and syntax.separator.startswith(text[answer:]):
            return text[body:end].strip(), None
        return text[body:end].strip(), answer
    if not partial:
        return text[body:].strip(), len(text)
    return text[body:len(text) - held_back(text[body:], [syntax.end])].strip(), None


def parse_with_reasoning(
    text: str, syntax: ReasoningSyntax | None, *, partial: bool, parse_answer: Callable[[str], ParsedMessage],
) -> ParsedMessage:
    """`parse_answer` applied to the text after the thinking block, with the block's text as
    the message's reasoning."""
    reasoning, answer = split_reasoning(text, syntax, partial=partial)
    if answer is None:
        return ParsedMessage(reasoning=reasoning)
    parsed = parse_answer(text[answer:])
    parsed.reasoning = reasoning
    return parsed
