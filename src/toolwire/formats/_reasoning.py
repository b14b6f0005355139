"""The thinking block a reasoning model writes before its answer, read apart from it.

Output of a format with a `ReasoningSyntax` is `[begin] REASONING end ANSWER`: `begin` is
left out when the generation prompt wrote it (`opened_by_prompt`). The block is found
first and ends at the first `end`, so a call trigger written while thinking is text of the
reasoning, never a call; the answer is then read by the format's own parser. Reasoning is
returned without its markers and surrounding whitespace (templates strip it when they
render it back). A block that never closes is all reasoning: nothing is lost, and nothing
written while thinking becomes a call.
"""

from __future__ import annotations

from typing import Callable

from toolwire.formats._scan import held_back, skip_space
from toolwire.formats.base import ReasoningSyntax
from toolwire.types import ParsedMessage

__all__ = ["THINK", "parse_with_reasoning", "split_reasoning", "think_block"]

THINK = ReasoningSyntax("<think>", "</think>", separator="\n\n")
"""The `<think>` block as Qwen3, Qwen3-Coder/Qwen3.5, MiniMax-M2 and DeepSeek-R1 write it:
`<think>\nREASONING\n</think>\n\n` before the answer."""


def think_block(reasoning: str) -> str:
    """`reasoning` in a `THINK` block, as those models write it."""
    return f"<think>\n{reasoning.strip(chr(10))}\n</think>\n\n"


def split_reasoning(text: str, syntax: ReasoningSyntax | None, *, partial: bool) -> tuple[str, int | None]:
    """(reasoning, index where the answer starts). The index is None while the answer has
    not started: the block is open, or (with `partial`) the text may still open it."""
    if syntax is None:
        return "", 0
    begin = syntax.begin.strip() or syntax.begin  # whitespace around `begin` is optional
    if syntax.opened_by_prompt:
        start = 0
    else:
        first = skip_space(text, 0)
        if text.startswith(begin, first):
            start = first + len(begin)
        elif partial and begin.startswith(text[first:]):
            return "", None
        else:
            return "", 0
    close = text.find(syntax.end, start)
    if close >= 0:
        return text[start:close].strip(), skip_space(text, close + len(syntax.end))
    body = text[start:]
    if partial:
        body = body[: len(body) - held_back(body, [syntax.end])]
    return body.strip(), None


def parse_with_reasoning(
    text: str, syntax: ReasoningSyntax | None, *, partial: bool, parse_answer: Callable[[str], ParsedMessage],
) -> ParsedMessage:
    """The thinking block of `text` as `reasoning`, and its answer read by `parse_answer`."""
    reasoning, start = split_reasoning(text, syntax, partial=partial)
    if start is None:
        return ParsedMessage(reasoning=reasoning)
    parsed = parse_answer(text[start:])
    parsed.reasoning = reasoning
    return parsed
