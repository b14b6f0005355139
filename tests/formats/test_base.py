"""formats/base: a format reading the output that continues a prompt."""

from __future__ import annotations

from dataclasses import replace

from toolwire.formats import get_format
from toolwire.formats.base import ReasoningSyntax

THINK = ReasoningSyntax("<think>", "</think>", separator="\n\n")


def test_a_block_is_left_open_by_a_generation_prompt_that_opens_it():
    assert THINK.left_open_by("<|im_start|>assistant\n<think>\n")
    assert THINK.left_open_by("<|assistant|><think>")
    assert not THINK.left_open_by("<|im_start|>assistant\n")
    assert not THINK.left_open_by("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert not THINK.left_open_by("<|assistant|></think>")
    assert not ReasoningSyntax("", "").left_open_by("x")


def test_for_prompt_marks_the_block_opened_and_leaves_the_format_alone():
    fmt = get_format("hermes")
    assert fmt.for_prompt("<think>\n") is fmt  # no reasoning: nothing to change
    fmt.syntax = replace(fmt.syntax, reasoning=THINK)
    opened = fmt.for_prompt("<|im_start|>assistant\n<think>\n")
    assert opened is not fmt and opened.syntax.reasoning == replace(THINK, opened_by_prompt=True)
    assert fmt.syntax.reasoning == THINK
    assert opened.for_prompt("<think>") is opened
    assert opened.for_prompt("<|im_start|>assistant\n").syntax.reasoning == THINK
    assert fmt.for_prompt("<|im_start|>assistant\n") is fmt
