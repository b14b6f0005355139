"""The grammar IR: built from `CallSyntax` alone, with the restrictions that keep free text
from carrying an unconstrained call."""

from __future__ import annotations

import string
from dataclasses import replace

import pytest

from tests.constrain.cases import SCHEMAS, TOOLS, constraint, named
from toolwire.constrain import JsonConstraint, LarkConstraint, ToolCallConstraint, Vocabulary, build_grammar
from toolwire.constrain.builder import call_parts, call_pieces
from toolwire.constrain.ir import Alt, AnyToken, Chars, Json, Literal, Ref, Repeat, Seq, Text, TextUntil, Token, walk
from toolwire.constrain.lark import render_lark
from toolwire.formats import get_format
from toolwire.formats.base import ARGUMENTS, INDEX

QWEN_LIKE = Vocabulary({"<tool_call>": 7, "</tool_call>": 8})


def test_auto_is_text_or_calls_or_text_then_calls() -> None:
    grammar = build_grammar(constraint(get_format("hermes")))
    assert grammar.start == Alt((Ref("text_reply"), Ref("calls"), Ref("text_then_calls")))


def test_required_and_named_start_with_calls_and_none_with_text() -> None:
    fmt = get_format("hermes")
    assert build_grammar(constraint(fmt, "required")).start == Ref("calls")
    named_grammar = build_grammar(constraint(fmt, named("get_time")))
    assert named_grammar.start == Ref("calls")
    assert named_grammar.rules["call"] == Alt((Ref("call_1"),))
    names = [expr.text for expr in walk(named_grammar.rules["call_1"]) if isinstance(expr, Literal)]
    assert any('"get_time"' in text for text in names)
    assert build_grammar(constraint(fmt, "none")).start == Ref("text_reply")


def test_special_token_trigger_becomes_a_token_and_text_excludes_it() -> None:
    grammar = build_grammar(constraint(get_format("hermes")), QWEN_LIKE)
    tokens = {expr for expr in grammar.expressions() if isinstance(expr, Token)}
    assert Token("<tool_call>", 7) in tokens and Token("</tool_call>", 8) in tokens
    texts = {expr for expr in grammar.expressions() if isinstance(expr, Text)}
    assert texts == {Text(not_containing=(Token("<tool_call>", 7),))}
    assert not any(isinstance(expr, TextUntil) for expr in grammar.expressions())


def test_plain_text_trigger_ends_lazy_text() -> None:
    grammar = build_grammar(constraint(get_format("hermes")))
    lazy = [body for body in grammar.rules.values() if isinstance(body, TextUntil)]
    assert lazy == [TextUntil(Text(not_containing=(Literal("<tool_call>"),)), "<tool_call>")]


def test_calls_that_stand_alone_keep_text_from_opening_like_them() -> None:
    grammar = build_grammar(constraint(get_format("pythonic")))
    assert {expr for expr in grammar.expressions() if isinstance(expr, Text)} == {Text(not_opening=(Literal("["),))}


def test_arguments_are_closed_json_schemas() -> None:
    grammar = build_grammar(constraint(get_format("hermes"), "required"))
    schemas = [expr.schema for expr in grammar.expressions() if isinstance(expr, Json)]
    assert schemas and all(schema.get("additionalProperties") is False for schema in schemas)


def test_the_builder_reads_only_call_syntax() -> None:
    """Two formats with the same CallSyntax get the same grammar."""
    hermes = get_format("hermes")
    from toolwire.formats.jinja import JinjaFormat
    from pathlib import Path

    jinja = JinjaFormat(Path("tests/templates/qwen2.5.jinja").read_text())
    assert build_grammar(constraint(hermes)).rules.keys() == build_grammar(constraint(jinja)).rules.keys()


def test_json_constraint_and_call_pieces() -> None:
    assert build_grammar(JsonConstraint({"type": "object"})).start == Json({"type": "object"})
    assert call_pieces(get_format("hermes").syntax, TOOLS[0]) == (
        '<tool_call>\n{"name": "get_weather", "arguments": ', "}\n</tool_call>")
    import pytest

    with pytest.raises(TypeError):
        build_grammar(LarkConstraint('start: "x"'))
    assert all(tool.name in SCHEMAS for tool in TOOLS)
    assert list(walk(Alt((Literal("a"),)))) == [Alt((Literal("a"),)), Literal("a")]


# --- what the issue-14 families need: call slots, Gemma's arguments, thinking blocks ---------

def test_a_calls_index_and_id_are_digits_and_id_characters() -> None:
    kimi = build_grammar(constraint(get_format("kimi-k2"), "required"))
    assert kimi.rules["call_index"] == Chars("0123456789", 1, 4)
    mistral = build_grammar(constraint(get_format("mistral-v11"), "required"))
    assert mistral.rules["call_call_id"] == Chars(string.ascii_letters + string.digits, 9, 9)
    assert "call_index: /[0123456789]{1,4}/" in render_lark(kimi)
    before, middle, after = call_parts(get_format("kimi-k2").syntax, TOOLS[0])
    assert before == "<|tool_call_begin|>functions.get_weather:"
    assert middle == (INDEX, "<|tool_call_argument_begin|>", ARGUMENTS) and after == "<|tool_call_end|>"
    with pytest.raises(ValueError, match="call_parts"):
        call_pieces(get_format("kimi-k2").syntax, TOOLS[0])


def test_gemma_arguments_sort_keys_and_delimit_strings() -> None:
    grammar = build_grammar(constraint(get_format("functiongemma"), named("get_weather")))
    literals = [expr.text for expr in grammar.expressions() if isinstance(expr, Literal)]
    assert "city:" in literals and "unit:" in literals and "," in literals
    assert "<escape>celsius<escape>" in literals and "<escape>fahrenheit<escape>" in literals
    assert grammar.rules["gemma_string_body"] == TextUntil(Text(not_containing=(Literal("<escape>"),)), "<escape>")
    assert Token("<escape>", 9) in set(build_grammar(constraint(get_format("functiongemma")), Vocabulary({"<escape>": 9})).expressions())


def test_a_thinking_block_may_come_first_and_its_text_may_hold_the_trigger() -> None:
    magistral = get_format("magistral")
    grammar = build_grammar(constraint(magistral))
    assert grammar.start.items[0] == Repeat(Ref("thinking_block"), 0, 1)
    assert grammar.rules["thinking_block"] == Seq((Literal("[THINK]"), Ref("thinking")))
    assert grammar.rules["thinking"] == TextUntil(Text(not_containing=(Literal("[/THINK]"),)), "[/THINK]")
    # the answer's text may not open like the block (a longest-match lexer would read it as text)
    texts = {expr for expr in grammar.expressions() if isinstance(expr, Text) and expr.not_starting}
    assert texts and all(text.not_starting == (Literal("[THINK]"),) for text in texts)
    special = build_grammar(constraint(magistral), Vocabulary({"[THINK]": 5, "[/THINK]": 6}))
    # the end token closes the text; another special token written while thinking ([THINK]) separates it
    stretch = Text(not_containing=(Token("[/THINK]", 6),))
    assert special.rules["thinking_block"] == Seq((Token("[THINK]", 5), Seq((
        Repeat(Seq((stretch, AnyToken((Token("[THINK]", 5),))))), stretch, Token("[/THINK]", 6)))))
    opened = replace(magistral.syntax, reasoning=replace(magistral.syntax.reasoning, opened_by_prompt=True))
    assert build_grammar(ToolCallConstraint(opened, TOOLS, SCHEMAS)).start.items[0] == Ref("thinking")
    resumed = ToolCallConstraint(magistral.syntax, TOOLS, SCHEMAS, resume=True)
    assert build_grammar(resumed).start == Ref("calls")


def test_a_plain_text_suffix_ends_the_text() -> None:
    grammar = build_grammar(constraint(get_format("command-r7b")))
    assert [body for name, body in grammar.rules.items() if name.startswith("text_until_suffix")] == [
        TextUntil(Text(not_containing=(Literal("<|END_RESPONSE|>"),)), "<|END_RESPONSE|>")]
