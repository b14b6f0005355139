"""The exact requests each remote engine sends, recorded by a real HTTP server on
loopback, and how it reads the streamed answers back."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from tests.constrain.cases import SCHEMAS, TOOLS
from tests.engine.remote.recorder import Recorder, serve, sse
from toolwire.constrain import JsonConstraint, LarkConstraint, ToolCallConstraint, lark_grammar
from toolwire.constrain.ebnf import ebnf_grammar
from toolwire.constrain.gbnf import gbnf_grammar
from toolwire.constrain.structural_tag import structural_tag
from toolwire.engine.base import ConstraintUnsupported, Engine
from toolwire.engine.remote import remote_engine
from toolwire.engine.sampling import SamplingParams
from toolwire.formats import get_format
from starlette.responses import JSONResponse

PROMPT = "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n"
SAMPLING = SamplingParams(temperature=0.5, top_p=0.9, repeat_penalty=1.1, seed=7, max_tokens=32, stop=("<|im_end|>",))
HERMES = ToolCallConstraint(get_format("hermes").syntax, TOOLS, SCHEMAS, "auto")
SPECIAL = {"<tool_call>": 151657, "</tool_call>": 151658}


def _tokens(text: str) -> list[int]:
    """A stand-in tokenizer: markers are one token, other text one token per character."""
    return [SPECIAL[text]] if text in SPECIAL else [ord(char) for char in text]


def openai_replies(stream: Any) -> dict[tuple[str, str], Any]:
    return {
        ("GET", "/v1/models"): lambda body: JSONResponse({"object": "list", "data": [
            {"id": "served-model", "object": "model", "max_model_len": 4096}]}),
        ("POST", "/tokenize"): lambda body: JSONResponse({
            "tokens": _tokens(body["prompt"]), "count": len(_tokens(body["prompt"])), "max_model_len": 4096}),
        ("POST", "/v1/completions"): lambda body: stream(),
    }


def completion_stream() -> Any:
    return sse(
        {"object": "text_completion", "choices": [{"index": 0, "text": "Hel", "finish_reason": None,
                                                   "logprobs": {"tokens": ["Hel"], "token_logprobs": [-0.5]}}]},
        {"object": "text_completion", "choices": [{"index": 0, "text": "lo", "finish_reason": "length"}]},
        {"object": "text_completion", "choices": [], "usage": {
            "prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14, "prompt_tokens_details": {"cached_tokens": 5}}})


@pytest.fixture
def vllm() -> Iterator[Recorder]:
    yield from serve(Recorder(openai_replies(completion_stream)))


@pytest.fixture
def toolwire_upstream() -> Iterator[Recorder]:
    yield from serve(Recorder(openai_replies(completion_stream)))


@pytest.fixture
def llama_server() -> Iterator[Recorder]:
    replies = {
        ("GET", "/props"): lambda body: JSONResponse({
            "default_generation_settings": {"n_ctx": 2048}, "model_alias": "smollm2",
            "chat_template": "{{ messages }}", "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}),
        ("POST", "/tokenize"): lambda body: JSONResponse({"tokens": _tokens(body["content"])}),
        ("POST", "/completion"): lambda body: sse(
            {"index": 0, "content": "Hel", "stop": False,
             "completion_probabilities": [{"id": 1, "token": "Hel", "logprob": -0.5, "top_logprobs": []}]},
            {"index": 0, "content": "lo", "stop": False},
            {"index": 0, "content": "", "stop": True, "stop_type": "limit", "tokens_evaluated": 12,
             "tokens_predicted": 2, "timings": {"cache_n": 5}}),
    }
    yield from serve(Recorder(replies))


@pytest.fixture
def sglang() -> Iterator[Recorder]:
    replies = {
        **openai_replies(None),
        ("POST", "/generate"): lambda body: sse(
            {"text": "Hel", "meta_info": {"finish_reason": None}},
            {"text": "Hello", "meta_info": {"finish_reason": {"type": "length", "length": 2}, "prompt_tokens": 12,
                                            "completion_tokens": 2, "cached_tokens": 5}}),
    }
    yield from serve(Recorder(replies))


def _generate(engine: Engine, **options: Any) -> Any:
    generation = engine.generate(PROMPT, sampling=options.pop("sampling", SAMPLING), **options)
    chunks = list(generation)
    assert "".join(chunk.text for chunk in chunks) == "Hello"
    if engine.dialect in ("llama.cpp", "vllm"):  # the upstreams asked for log-probabilities
        assert [chunk.logprob for chunk in chunks] == [-0.5, None]
    assert generation.finish_reason == "length"
    assert (generation.usage.prompt_tokens, generation.usage.completion_tokens, generation.usage.cached_tokens) == (12, 2, 5)
    return generation


def test_llama_server_completion_request(llama_server: Recorder) -> None:
    engine = remote_engine(llama_server.url, "llama.cpp")
    vocabulary = engine.learn_special_tokens(["<tool_call>", "</tool_call>", "<|from|>"])
    assert dict(vocabulary.special_tokens) == SPECIAL
    assert engine.n_ctx == 2048 and engine.model == "smollm2"
    _generate(engine, constraint=HERMES)
    [body] = llama_server.bodies("/completion")
    assert body == {
        "prompt": PROMPT, "stream": True, "cache_prompt": True, "n_predict": 32, "temperature": 0.5, "top_p": 0.9,
        "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.1, "repeat_last_n": 64, "presence_penalty": 0.0,
        "frequency_penalty": 0.0, "seed": 7, "stop": ["<|im_end|>"], "n_probs": 1,
        "grammar": gbnf_grammar(HERMES, vocabulary)}
    assert "<[151657]>" in body["grammar"]
    assert llama_server.bodies("/tokenize")[0] == {"content": "<tool_call>", "add_special": False, "parse_special": True}
    assert engine.chat_template() == ("{{ messages }}", "<|im_start|>", "<|im_end|>")
    engine.close()


def test_llama_server_refuses_a_prompt_longer_than_its_context(llama_server: Recorder) -> None:
    from toolwire.errors import RequestError

    engine = remote_engine(llama_server.url, "llama.cpp")
    with pytest.raises(RequestError) as caught:
        engine.generate("x" * 3000)
    assert caught.value.code == "context_length_exceeded" and caught.value.param == "messages"
    assert llama_server.bodies("/completion") == []
    engine.close()


def test_llama_server_without_a_limit_generates_to_the_end_of_the_context(llama_server: Recorder) -> None:
    engine = remote_engine(llama_server.url, "llama.cpp")
    _generate(engine, sampling=SamplingParams())
    [body] = llama_server.bodies("/completion")
    assert "n_predict" not in body and "seed" not in body and "grammar" not in body and body["temperature"] == 0.0
    with pytest.raises(ConstraintUnsupported):
        engine.generate(PROMPT, constraint=LarkConstraint('start: "x"'))
    engine.close()


@pytest.mark.parametrize("grammar", ["structural-tag", "lark", "ebnf"])
def test_vllm_completion_request(vllm: Recorder, grammar: str) -> None:
    engine = remote_engine(vllm.url, "vllm", grammar=grammar)
    vocabulary = engine.learn_special_tokens(["<tool_call>", "</tool_call>"])
    _generate(engine, constraint=HERMES)
    [body] = vllm.bodies("/v1/completions")
    expected_outputs = {
        "structural-tag": {"structural_tag": json.dumps(structural_tag(HERMES, vocabulary), ensure_ascii=False)},
        "lark": {"grammar": lark_grammar(HERMES, vocabulary)},
        "ebnf": {"grammar": ebnf_grammar(HERMES, vocabulary)},
    }[grammar]
    assert body == {
        "model": "served-model", "prompt": PROMPT, "stream": True, "stream_options": {"include_usage": True},
        "max_tokens": 32, "temperature": 0.5, "top_p": 0.9, "min_p": 0.0, "repetition_penalty": 1.1,
        "presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": 7, "stop": ["<|im_end|>"], "logprobs": 1,
        "skip_special_tokens": False, "spaces_between_special_tokens": False, "structured_outputs": expected_outputs}
    assert not any(key.startswith("guided_") for key in body)  # removed in vLLM 0.12, silently ignored there
    assert vllm.bodies("/tokenize")[0] == {"prompt": "<tool_call>", "add_special_tokens": False, "model": "served-model"}
    engine.close()


def test_vllm_fills_the_context_when_no_limit_is_given(vllm: Recorder) -> None:
    engine = remote_engine(vllm.url, "vllm")
    _generate(engine, sampling=SamplingParams(), constraint=JsonConstraint({"type": "object"}))
    body = vllm.bodies("/v1/completions")[0]
    assert body["max_tokens"] == 4096 - len(_tokens(PROMPT))
    _generate(engine, sampling=SamplingParams(max_tokens=1 << 30))  # the chat layer's "no limit"
    assert vllm.bodies("/v1/completions")[1]["max_tokens"] == 4096 - len(_tokens(PROMPT))
    assert body["structured_outputs"] == {"json": {"type": "object"}}
    assert "top_k" not in body and "seed" not in body
    with pytest.raises(ConstraintUnsupported):
        engine.generate(PROMPT, constraint=LarkConstraint('start: "x"'))
    engine.close()


@pytest.mark.parametrize("grammar", ["ebnf", "structural-tag", "lark"])
def test_sglang_generate_request(sglang: Recorder, grammar: str) -> None:
    engine = remote_engine(sglang.url, "sglang", grammar=grammar)
    vocabulary = engine.learn_special_tokens(["<tool_call>", "</tool_call>"])
    _generate(engine, constraint=HERMES)
    [body] = sglang.bodies("/generate")
    expected_grammar = {
        "ebnf": {"ebnf": ebnf_grammar(HERMES, vocabulary)},
        "structural-tag": {"structural_tag": json.dumps(structural_tag(HERMES, vocabulary), ensure_ascii=False)},
        "lark": {"ebnf": lark_grammar(HERMES, vocabulary)},
    }[grammar]
    assert body == {"text": PROMPT, "stream": True, "sampling_params": {
        "max_new_tokens": 32, "temperature": 0.5, "top_p": 0.9, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.1,
        "presence_penalty": 0.0, "frequency_penalty": 0.0, "sampling_seed": 7, "stop": ["<|im_end|>"],
        "skip_special_tokens": False, "spaces_between_special_tokens": False, **expected_grammar}}
    if grammar == "lark":
        assert body["sampling_params"]["ebnf"].startswith("%llguidance {}")
    engine.close()


def test_sglang_raw_lark_gets_the_llguidance_header(sglang: Recorder) -> None:
    engine = remote_engine(sglang.url, "sglang", grammar="lark")
    _generate(engine, constraint=LarkConstraint('start: "Hello"'))
    assert sglang.bodies("/generate")[0]["sampling_params"]["ebnf"] == '%llguidance {}\nstart: "Hello"'
    engine.close()


def test_toolwire_completion_request(toolwire_upstream: Recorder) -> None:
    engine = remote_engine(toolwire_upstream.url, "toolwire")
    vocabulary = engine.learn_special_tokens(["<tool_call>"])
    _generate(engine, constraint=HERMES)
    [body] = toolwire_upstream.bodies("/v1/completions")
    assert body == {
        "model": "served-model", "prompt": PROMPT, "stream": True, "stream_options": {"include_usage": True},
        "max_tokens": 32, "temperature": 0.5, "top_p": 0.9, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.1,
        "presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": 7, "stop": ["<|im_end|>"],
        "grammar": lark_grammar(HERMES, vocabulary)}
    engine.close()


def test_llama_server_lazy_grammar_from_the_trigger(llama_server: Recorder) -> None:
    from toolwire.constrain.builder import triggered_calls_grammar
    from toolwire.constrain.gbnf import render_gbnf

    engine = remote_engine(llama_server.url, "llama.cpp", grammar="lazy-gbnf")
    vocabulary = engine.learn_special_tokens(["<tool_call>", "</tool_call>"])
    _generate(engine, constraint=HERMES)
    body = llama_server.bodies("/completion")[0]
    triggered = triggered_calls_grammar(HERMES, vocabulary)
    assert triggered is not None
    assert {key: body[key] for key in ("grammar", "grammar_lazy", "grammar_triggers", "preserved_tokens")} == {
        "grammar": render_gbnf(triggered), "grammar_lazy": True,
        "grammar_triggers": [{"type": 0, "value": "<tool_call>", "token": 151657}], "preserved_tokens": ["<tool_call>"]}
    assert body["grammar"].startswith("root ::= <[151657]>")
    # a turn that must call gets the eager grammar: laziness would let it answer in text
    _generate(engine, constraint=ToolCallConstraint(HERMES.syntax, TOOLS, SCHEMAS, "required"))
    required = llama_server.bodies("/completion")[1]
    assert "grammar_lazy" not in required and required["grammar"].startswith("root ::= calls")
    engine.close()


def test_llama_server_lazy_word_trigger(llama_server: Recorder) -> None:
    engine = remote_engine(llama_server.url, "llama.cpp", grammar="lazy-gbnf")
    _generate(engine, constraint=HERMES)  # no special tokens learned: the trigger is a word
    body = llama_server.bodies("/completion")[0]
    assert body["grammar_triggers"] == [{"type": 1, "value": "<tool_call>"}] and "preserved_tokens" not in body
    engine.close()


def test_unknown_kind_and_grammar_options() -> None:
    with pytest.raises(ValueError, match="kind"):
        remote_engine("http://127.0.0.1:1", "tgi")
    with pytest.raises(ValueError, match="grammar"):
        remote_engine("http://127.0.0.1:1", "llama.cpp", grammar="lark")
    with pytest.raises(ValueError, match="grammar"):
        remote_engine("http://127.0.0.1:1", "vllm", grammar="gbnf")


def test_every_sampling_field_has_a_decision_per_dialect() -> None:
    """A new sampling option must say what each dialect calls it (or that it has none)."""
    from toolwire.engine.remote.sampling import SAMPLING_NAMES
    from toolwire.engine.sampling import SAMPLING_FIELDS

    assert set(SAMPLING_NAMES) == set(SAMPLING_FIELDS)
    assert all(set(names) == {"llama.cpp", "vllm", "sglang", "toolwire"} for names in SAMPLING_NAMES.values())
