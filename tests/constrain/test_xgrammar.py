"""xgrammar (vLLM's and SGLang's default grammar engine): every format's EBNF grammar and
structural tag compiles against a real vocabulary (the GGUF vocabulary of SmolLM2 and of
Qwen2.5, as vLLM would hand it over), accepts the format's replies token by token, and
refuses schema-invalid calls."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.constrain.cases import (
    NO_ARGS, ONE_CALL, SCHEMAS, TEXT, TOOLS, TWO_CALLS, VALID, constraint, invalid, named, reply, thinking_formats,
    thinking_reply,
)
from tests.formats.harness import assistant
from toolwire.constrain import JsonConstraint, LarkConstraint, ToolCallConstraint
from toolwire.constrain.ebnf import ebnf_grammar
from toolwire.constrain.structural_tag import structural_tag
from toolwire.engine.base import ConstraintUnsupported
from toolwire.formats import FORMAT_NAMES, get_format

xgr = pytest.importorskip("xgrammar", reason="xgrammar is installed by .ci/run (torch CPU build, then xgrammar without its GPU dependencies)")

pytestmark = pytest.mark.model


class Compiler:
    """An xgrammar compiler for one engine's vocabulary."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        info = xgr.TokenizerInfo(list(engine._pieces), xgr.VocabType.RAW, vocab_size=engine.n_vocab,
                                 stop_token_ids=sorted(engine.end_token_ids))
        self.compiler = xgr.GrammarCompiler(info)

    def ebnf(self, grammar: str) -> Any:
        return self.compiler.compile_grammar(grammar)

    def tag(self, tag: dict[str, Any]) -> Any:
        return self.compiler.compile_structural_tag(json.dumps(tag))

    def accepts(self, compiled: Any, text: str) -> bool:
        """Whether the grammar takes `text`, token by token, then the end token."""
        matcher = xgr.GrammarMatcher(compiled)
        for token in self.engine.llama.tokenize(text.encode(), add_bos=False, special=True):
            if not matcher.accept_token(token):
                return False
        return matcher.accept_token(min(self.engine.end_token_ids)) and matcher.is_terminated()


@pytest.fixture(scope="module", params=["smollm2", "qwen"])
def compiler(request, smollm2_engine, qwen_engine) -> Compiler:  # type: ignore[no-untyped-def]
    return Compiler(smollm2_engine if request.param == "smollm2" else qwen_engine)


def _dialects(compiler: Compiler) -> dict[str, Callable[..., Any]]:
    return {"ebnf": lambda c: compiler.ebnf(ebnf_grammar(c, compiler.engine.vocabulary)),
            "structural tag": lambda c: compiler.tag(structural_tag(c, compiler.engine.vocabulary))}


@pytest.mark.parametrize("dialect", ["ebnf", "structural tag"])
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_auto_accepts_replies_and_refuses_invalid_calls(compiler: Compiler, name: str, dialect: str) -> None:
    fmt = get_format(name)
    compiled = _dialects(compiler)[dialect](constraint(fmt))
    for label, message in VALID.items():
        assert compiler.accepts(compiled, reply(fmt, message)), (name, label)
    for label, message in invalid(fmt).items():
        assert not compiler.accepts(compiled, reply(fmt, message)), (name, label)


@pytest.mark.parametrize("dialect", ["ebnf", "structural tag"])
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_required_named_and_single(compiler: Compiler, name: str, dialect: str) -> None:
    fmt = get_format(name)
    compile_ = _dialects(compiler)[dialect]
    required = compile_(constraint(fmt, "required"))
    assert compiler.accepts(required, reply(fmt, TWO_CALLS))
    assert compiler.accepts(required, reply(fmt, NO_ARGS))
    assert not compiler.accepts(required, reply(fmt, TEXT))
    single = compile_(constraint(fmt, "required", parallel=False))
    assert compiler.accepts(single, reply(fmt, ONE_CALL))
    assert not compiler.accepts(single, reply(fmt, TWO_CALLS))
    only_time = compile_(constraint(fmt, named("get_time")))
    assert compiler.accepts(only_time, reply(fmt, NO_ARGS))
    assert not compiler.accepts(only_time, reply(fmt, ONE_CALL))


@pytest.mark.parametrize("dialect", ["ebnf", "structural tag"])
@pytest.mark.parametrize("name", thinking_formats())
def test_thinking_may_hold_the_trigger_and_must_close(compiler: Compiler, name: str, dialect: str) -> None:
    """A structural tag's free text cannot be kept from opening like the thinking block
    (see structural_tag.py), so there an unclosed block may read as text."""
    fmt = get_format(name)
    for choice in ("auto", "required"):
        compiled = _dialects(compiler)[dialect](constraint(fmt, choice))
        assert compiler.accepts(compiled, thinking_reply(fmt)), (name, choice)
        if dialect == "ebnf" or choice == "required":
            assert not compiler.accepts(compiled, thinking_reply(fmt, closed=False)), (name, choice)


def test_structural_tag_shape_for_hermes() -> None:
    """Auto: free text, then one triggered tag per tool; parallel off: stop after the first."""
    tag = structural_tag(constraint(get_format("hermes"), parallel=False))
    assert tag["type"] == "structural_tag"
    triggered = tag["format"]["elements"][0]
    assert triggered["type"] == "triggered_tags" and triggered["triggers"] == ["<tool_call>"]
    assert triggered["stop_after_first"] is True and triggered["at_least_one"] is False
    first = triggered["tags"][0]
    assert first["begin"] == '<tool_call>\n{"name": "get_weather", "arguments": '
    assert first["end"] == "}\n</tool_call>"
    assert first["content"]["type"] == "json_schema"
    assert first["content"]["json_schema"]["additionalProperties"] is False
    required = structural_tag(constraint(get_format("hermes"), "required"))["format"]
    assert required["type"] == "tags_with_separator" and required["at_least_one"] is True


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_resume_is_one_further_call_without_the_block_opening(compiler: Compiler, name: str) -> None:
    """After calls and a separator, one more call of the block, then the end."""
    fmt = get_format(name)
    first = reply(fmt, assistant(None, ("get_weather", {"city": "Paris"})))
    first = first.removesuffix(fmt.syntax.calls_end) + fmt.syntax.separator
    two = reply(fmt, TWO_CALLS)
    assert two.startswith(first), (first, two)
    second = two[len(first):]
    resumed = ToolCallConstraint(fmt.syntax, TOOLS, SCHEMAS, "auto", resume=True)
    compiled = compiler.tag(structural_tag(resumed, compiler.engine.vocabulary))
    assert compiler.accepts(compiled, second)
    assert not compiler.accepts(compiled, reply(fmt, TEXT))


def test_json_response_format(compiler: Compiler) -> None:
    compiled = compiler.ebnf(ebnf_grammar(JsonConstraint({
        "type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": False})))
    assert compiler.accepts(compiled, '{"a": 1}')
    assert not compiler.accepts(compiled, '{"a": "1"}')


def test_a_lark_grammar_has_no_ebnf_form() -> None:
    with pytest.raises(ConstraintUnsupported):
        ebnf_grammar(LarkConstraint('start: "x"'))
