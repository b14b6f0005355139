"""_reasoning: the thinking block read apart from the answer, one-shot and streamed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from toolwire.formats._reasoning import parse_with_reasoning, split_reasoning
from toolwire.formats.base import ReasoningSyntax
from toolwire.types import ParsedMessage

THINK = ReasoningSyntax("<think>", "</think>", separator="\n\n")
OPENED = replace(THINK, opened_by_prompt=True)


@pytest.mark.parametrize("syntax,text,partial,expected", [
    (None, "<think>x</think>y", False, ("", 0)),
    (THINK, "<think>\nplan\n</think>\n\nanswer", False, ("plan", 23)),
    (THINK, "  <think>a <tool_call> b</think>c", False, ("a <tool_call> b", 32)),
    (THINK, "answer", False, ("", 0)),
    (THINK, "<think>never closed <tool_call>", False, ("never closed <tool_call>", None)),
    (THINK, "<think>still thinking </thi", True, ("still thinking", None)),
    (THINK, "<thi", True, ("", None)),
    (THINK, "\n", True, ("", None)),
    (THINK, "<to", True, ("", 0)),
    (OPENED, "plan</think>answer", False, ("plan", 12)),
    (OPENED, "</think><tool_call>", False, ("", 8)),
    (OPENED, "plan, no end", False, ("plan, no end", None)),
])
def test_split_reasoning(syntax, text, partial, expected):
    assert split_reasoning(text, syntax, partial=partial) == expected


def test_the_answer_is_read_by_the_format():
    parsed = parse_with_reasoning("<think>a</think>\n\nB", THINK, partial=False,
                                  parse_answer=lambda answer: ParsedMessage(content=answer.upper()))
    assert (parsed.reasoning, parsed.content) == ("a", "B")
    open_block = parse_with_reasoning("<think>a", THINK, partial=True, parse_answer=pytest.fail)
    assert (open_block.reasoning, open_block.content, open_block.calls) == ("a", "", [])


def test_partial_reasoning_only_grows():
    text = "<think>\n  one <tool_call> two \n\n</think>\n\nanswer"
    seen = ""
    for end in range(len(text) + 1):
        reasoning, _ = split_reasoning(text[:end], THINK, partial=True)
        assert reasoning.startswith(seen), (end, reasoning, seen)
        seen = reasoning
    assert seen == split_reasoning(text, THINK, partial=False)[0] == "one <tool_call> two"
