"""Grammar constructs of the issue-14 formats: the thinking block (free text, where a call
trigger is just text, then constrained calls) and tagged parameters (raw string values up
to their closing tag, other values JSON), in the IR and on real tokenizers (Lark)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.constrain.cases import ONE_CALL, SCHEMAS, THINKING_CALL, TOOLS, TWO_CALLS, constraint, reply
from tests.formats.harness import assistant
from toolwire.constrain import ToolCallConstraint, Vocabulary, build_grammar, lark_grammar
from toolwire.constrain.ir import AnyToken, Literal, Ref, Repeat, Seq, Text, TextUntil, Token, walk
from toolwire.formats import get_format

QWEN_LIKE = Vocabulary({"<tool_call>": 7, "</tool_call>": 8, "<think>": 9, "</think>": 10, "<|im_end|>": 11},
                       frozenset({"<|im_end|>"}))


def _opened(name: str):  # type: ignore[no-untyped-def]
    fmt = get_format(name)
    return fmt.for_prompt(fmt.syntax.reasoning.begin)


# --- the IR ---------------------------------------------------------------------------------

def test_thinking_is_an_optional_block_before_the_answer() -> None:
    grammar = build_grammar(constraint(get_format("qwen3")))
    assert grammar.start == Seq((Repeat(Ref("thinking_block"), 0, 1), grammar.start.items[1]))
    assert grammar.rules["thinking"] == TextUntil(Text(not_containing=(Literal("</think>"),)), "</think>")
    # the answer may not start like the block, and may not carry the trigger as text
    texts = {expr for expr in grammar.expressions() if isinstance(expr, Text)}
    assert Text(not_containing=(Literal("<tool_call>"),), not_starting=(Literal("<think>"),)) in texts


def test_a_prompt_that_opened_the_block_starts_the_grammar_inside_it() -> None:
    fmt = _opened("qwen3")
    grammar = build_grammar(constraint(fmt, "required"))
    assert isinstance(grammar.start, Seq) and grammar.start.items[-1] == Ref("calls")
    assert "thinking_block" not in grammar.rules
    assert all(expr.not_starting == () for expr in grammar.expressions() if isinstance(expr, Text))


def test_special_tokens_may_be_written_while_thinking_but_not_the_end() -> None:
    grammar = build_grammar(constraint(get_format("qwen3")), QWEN_LIKE)
    tokens = next(expr for expr in grammar.expressions() if isinstance(expr, AnyToken)).tokens
    assert Token("<tool_call>", 7) in tokens
    assert Token("</think>", 10) not in tokens and Token("<|im_end|>", 11) not in tokens
    block = grammar.rules["thinking_block"]
    assert block.items[0] == Token("<think>", 9) and Token("</think>", 10) in set(walk(block))


def test_tagged_parameters_are_raw_text_for_strings_and_json_otherwise() -> None:
    grammar = build_grammar(constraint(get_format("qwen3-coder"), "required"))
    raws = [body for body in grammar.rules.values() if isinstance(body, TextUntil)]
    assert TextUntil(Text(not_containing=(Literal("</parameter>"),)), "</parameter>") in raws
    lark = lark_grammar(constraint(get_format("qwen3-coder"), "required"))
    assert '"<parameter=unit>\\n" ("celsius" | "fahrenheit") "\\n</parameter>\\n"' in lark
    assert '"<parameter=vip>\\n" (%json {"type": "boolean"' in lark and '| ("True" | "False")) "\\n</parameter>' in lark


# --- on real tokenizers -----------------------------------------------------------------------

@pytest.fixture(params=["smollm2", "qwen"])
def engine(request, smollm2_engine, qwen_engine):  # type: ignore[no-untyped-def]
    return smollm2_engine if request.param == "smollm2" else qwen_engine


def accepts(engine, request: ToolCallConstraint, text: str) -> bool:  # type: ignore[no-untyped-def]
    matcher = engine.compile_grammar(lark_grammar(request, engine.vocabulary))
    tokens = engine.llama.tokenize(text.encode(), add_bos=False, special=True)
    return matcher.consume_tokens(tokens) and matcher.is_accepting()


THINKING_FORMATS = ["qwen3", "qwen3-coder", "glm-4.5", "glm-4.7", "minimax-m2", "seed-oss", "deepseek-v3.1",
                    "deepseek-r1", "harmony", "nemotron", "granite-3", "smollm3"]


@pytest.mark.model
@pytest.mark.parametrize("name", THINKING_FORMATS)
def test_thinking_is_free_and_calls_after_it_are_constrained(engine, name: str) -> None:  # type: ignore[no-untyped-def]
    for fmt in (get_format(name), _opened(name)):
        for choice in ("auto", "required"):
            request = constraint(fmt, choice)
            assert accepts(engine, request, reply(fmt, THINKING_CALL)), (name, choice)
            bad = assistant(None, ("get_weather", {"city": "Paris", "unit": "kelvin"}))
            bad = bad.model_copy(update={"reasoning_content": THINKING_CALL.reasoning_content})
            assert not accepts(engine, request, reply(fmt, bad)), (name, choice)


@pytest.mark.model
@pytest.mark.parametrize("name", ["qwen3", "glm-4.7", "deepseek-v3.1", "harmony"])
def test_an_opened_block_must_close_before_calls(engine, name: str) -> None:  # type: ignore[no-untyped-def]
    fmt = _opened(name)
    assert not accepts(engine, constraint(fmt, "required"), get_format(name).render_reply(ONE_CALL, TOOLS))


@pytest.mark.model
def test_parallel_calls_after_thinking(engine) -> None:  # type: ignore[no-untyped-def]
    fmt = get_format("qwen3-coder")
    two = TWO_CALLS.model_copy(update={"reasoning_content": "Two things."})
    assert accepts(engine, constraint(fmt), reply(fmt, two))
    assert not accepts(engine, constraint(fmt, parallel=False), reply(fmt, two))


@pytest.mark.model
def test_a_raw_value_cannot_hold_its_own_closing_tag(engine) -> None:  # type: ignore[no-untyped-def]
    fmt = get_format("seed-oss")
    request = replace(constraint(fmt, "required"), schemas=SCHEMAS)
    ok = assistant(None, ("todo.addTodo", {"todo": "a </function> b <seed:tool_call> c"}))
    assert accepts(engine, request, reply(fmt, ok))
    closing = assistant(None, ("todo.addTodo", {"todo": "a </parameter> b"}))
    assert not accepts(engine, request, reply(fmt, closing))


@pytest.mark.model
def test_every_dialect_keeps_an_answer_from_starting_like_the_block(engine) -> None:  # type: ignore[no-untyped-def]
    """A text reply may not open with `<think>` (it would be read as thinking); GBNF and
    xgrammar build that from the IR's `not_starting`, Lark from a regex."""
    from tests.constrain.test_gbnf import accepts as gbnf_accepts
    from toolwire.constrain.gbnf import gbnf_grammar

    fmt = get_format("qwen3")
    request = constraint(fmt)
    gbnf = gbnf_grammar(request, engine.vocabulary)
    for text, expected in [("<think>never closed", False), ("<think>done</think>\n\nHello", True),
                           ("<thin ice", True), ("Hello <think> there", True)]:
        assert gbnf_accepts(engine, gbnf, text) is expected, text
        assert accepts(engine, request, text) is expected, text
