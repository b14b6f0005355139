"""GBNF: every format's grammar compiles in llama.cpp's own grammar engine (the sampler
llama-server runs) on real vocabularies, accepts the format's replies token by token and
refuses schema-invalid calls."""

from __future__ import annotations

import ctypes
import math

import llama_cpp
import pytest

from tests.constrain.cases import (
    NO_ARGS, ONE_CALL, TEXT, TWO_CALLS, VALID, constraint, invalid, named, reply, thinking_formats, thinking_reply,
)
from toolwire.constrain import JsonConstraint, LarkConstraint
from toolwire.constrain.gbnf import gbnf_grammar
from toolwire.engine.base import ConstraintUnsupported
from toolwire.formats import FORMAT_NAMES, get_format

pytestmark = pytest.mark.model


def accepts(engine, grammar: str, text: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether llama.cpp's grammar sampler lets the model write `text`, then end."""
    sampler = llama_cpp.llama_sampler_init_grammar(engine._vocab, grammar.encode(), b"root")
    assert sampler, f"llama.cpp did not parse the grammar:\n{grammar}"
    try:
        for token in engine.llama.tokenize(text.encode(), add_bos=False, special=True):
            if not _allowed(sampler, token):
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return any(_allowed(sampler, token) for token in engine.end_token_ids)
    finally:
        llama_cpp.llama_sampler_free(sampler)


def _allowed(sampler, token: int) -> bool:  # type: ignore[no-untyped-def]
    data = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
    candidates = llama_cpp.llama_token_data_array(data, 1, -1, False)
    llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
    return data[0].logit != -math.inf


@pytest.fixture(params=["smollm2", "qwen"])
def engine(request, smollm2_engine, qwen_engine):  # type: ignore[no-untyped-def]
    return smollm2_engine if request.param == "smollm2" else qwen_engine


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_auto_accepts_replies_and_refuses_invalid_calls(engine, name: str) -> None:
    fmt = get_format(name)
    grammar = gbnf_grammar(constraint(fmt), engine.vocabulary)
    for label, message in VALID.items():
        assert accepts(engine, grammar, reply(fmt, message)), (name, label)
    for label, message in invalid(fmt).items():
        assert not accepts(engine, grammar, reply(fmt, message)), (name, label)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_required_named_and_single(engine, name: str) -> None:
    fmt = get_format(name)
    required = gbnf_grammar(constraint(fmt, "required"), engine.vocabulary)
    assert accepts(engine, required, reply(fmt, TWO_CALLS))
    assert accepts(engine, required, reply(fmt, NO_ARGS))
    assert not accepts(engine, required, reply(fmt, TEXT))
    single = gbnf_grammar(constraint(fmt, "required", parallel=False), engine.vocabulary)
    assert accepts(engine, single, reply(fmt, ONE_CALL))
    assert not accepts(engine, single, reply(fmt, TWO_CALLS))
    only_time = gbnf_grammar(constraint(fmt, named("get_time")), engine.vocabulary)
    assert accepts(engine, only_time, reply(fmt, NO_ARGS))
    assert not accepts(engine, only_time, reply(fmt, ONE_CALL))


@pytest.mark.parametrize("name", thinking_formats())
def test_thinking_may_hold_the_trigger_and_must_close(engine, name: str) -> None:
    fmt = get_format(name)
    for choice in ("auto", "required"):
        grammar = gbnf_grammar(constraint(fmt, choice), engine.vocabulary)
        assert accepts(engine, grammar, thinking_reply(fmt)), (name, choice)
        assert not accepts(engine, grammar, thinking_reply(fmt, closed=False)), (name, choice)


def test_special_token_is_written_by_id(qwen_engine) -> None:  # type: ignore[no-untyped-def]
    grammar = gbnf_grammar(constraint(get_format("hermes")), qwen_engine.vocabulary)
    assert f"<[{qwen_engine.vocabulary.special_tokens['<tool_call>']}]>" in grammar
    # free text cannot spell the trigger out either: llama.cpp matches token texts
    assert not accepts(qwen_engine, grammar, "I will call <tool_call> now")


def lazy_accepts(engine, grammar: str, trigger: str, text: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether llama.cpp's lazy grammar sampler (free until `trigger`, as word or token)
    lets the model write `text`, then end."""
    words = (ctypes.c_char_p * 1)(trigger.encode())
    no_tokens = (llama_cpp.llama_token * 0)()
    sampler = llama_cpp.llama_sampler_init_grammar_lazy(engine._vocab, grammar.encode(), b"root", words, 1,
                                                        no_tokens, 0)
    assert sampler, f"llama.cpp did not parse the grammar:\n{grammar}"
    try:
        for token in engine.llama.tokenize(text.encode(), add_bos=False, special=True):
            if not _allowed(sampler, token):
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return any(_allowed(sampler, token) for token in engine.end_token_ids)
    finally:
        llama_cpp.llama_sampler_free(sampler)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_lazy_grammar_from_the_trigger(smollm2_engine, name: str) -> None:  # type: ignore[no-untyped-def]
    """llama.cpp's grammar_lazy: text runs free; from the trigger on, only valid calls.
    Formats whose calls can open without the trigger get no lazy grammar (the eager one)."""
    from toolwire.constrain.builder import triggered_calls_grammar
    from toolwire.constrain.gbnf import render_gbnf

    fmt = get_format(name)
    triggered = triggered_calls_grammar(constraint(fmt), smollm2_engine.vocabulary)
    if name in ("hermes", "mistral", "granite-4", "kimi-k2", "lfm2", "functiongemma", "phi-4-mini", "functionary-v3.1"):
        assert triggered is not None
    else:
        # calls stand alone, open with a bare name (functionary), or follow thinking, where
        # the trigger may be written without starting a call
        assert triggered is None, name
        return
    grammar, trigger = render_gbnf(triggered), fmt.syntax.trigger_text()
    for label in ("text", "one call", "two calls", "nested"):
        assert lazy_accepts(smollm2_engine, grammar, trigger, reply(fmt, VALID[label])), (name, label)
    for label, message in invalid(fmt).items():
        assert not lazy_accepts(smollm2_engine, grammar, trigger, reply(fmt, message)), (name, label)
    assert triggered_calls_grammar(constraint(fmt, "required")) is None


def test_json_response_format(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    grammar = gbnf_grammar(JsonConstraint({"type": "object", "properties": {"a": {"type": "integer"}},
                                           "required": ["a"], "additionalProperties": False}))
    assert accepts(smollm2_engine, grammar, '{"a": 1}')
    assert not accepts(smollm2_engine, grammar, '{"a": "1"}')


def test_a_lark_grammar_has_no_gbnf_form() -> None:
    with pytest.raises(ConstraintUnsupported):
        gbnf_grammar(LarkConstraint('start: "x"'))
