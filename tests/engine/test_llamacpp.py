"""engine.llamacpp on the real SmolLM2 model."""

import threading

import pytest

from toolwire.constrain import LarkConstraint
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import RequestError, SchemaError

pytestmark = pytest.mark.model

PROMPT = "<|im_start|>user\nCount from one to twenty in words.<|im_end|>\n<|im_start|>assistant\n"


def test_greedy_is_deterministic_and_counts_usage(smollm2_engine) -> None:
    first = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=12))
    text = first.text()
    second = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=12))
    assert second.text() == text and text
    assert first.finish_reason == "length"
    assert first.usage.completion_tokens == 12
    assert first.usage.prompt_tokens == len(smollm2_engine.tokenize(PROMPT))


def test_prefix_reuse_evaluates_only_new_tokens(smollm2_engine) -> None:
    smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=2)).text()
    turn_two = PROMPT + "One, two.<|im_end|>\n<|im_start|>user\nGo on.<|im_end|>\n<|im_start|>assistant\n"
    generation = smollm2_engine.generate(turn_two, sampling=SamplingParams(max_tokens=2))
    generation.text()
    assert generation.usage.cached_tokens >= len(smollm2_engine.tokenize(PROMPT)) - 1
    smollm2_engine.forget()
    scratch = smollm2_engine.generate(turn_two, sampling=SamplingParams(max_tokens=2))
    scratch.text()
    assert scratch.usage.cached_tokens == 0


def test_stop_string_cuts_the_text(smollm2_engine) -> None:
    full = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=30)).text()
    middle = len(full) // 2
    word = full[middle:middle + 2]  # whatever the text is (words or digits), from its middle
    stopped = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=30, stop=(word,)))
    text = stopped.text()
    assert stopped.finish_reason == "stop"
    assert word not in text and full.startswith(text)


def test_end_token_stops_and_is_not_text(smollm2_engine) -> None:
    generation = smollm2_engine.generate(
        "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n", sampling=SamplingParams(max_tokens=200))
    text = generation.text()
    assert generation.finish_reason == "stop"
    assert "<|im_end|>" not in text


def test_grammar_constrains_and_jump_forward_gives_the_same_text(smollm2_engine) -> None:
    grammar = '%llguidance {}\nstart: "The answer is " %json {"type": "object", "properties": {"colour": {"enum": ["red", "green"]}}, "required": ["colour"], "additionalProperties": false, "x-guidance": {"whitespace_flexible": false, "key_separator": ": "}}\n'
    fast = smollm2_engine.generate(PROMPT, constraint=LarkConstraint(grammar), sampling=SamplingParams(max_tokens=40))
    slow = smollm2_engine.generate(PROMPT, constraint=LarkConstraint(grammar), sampling=SamplingParams(max_tokens=40), jump_forward=False)
    chunks = list(fast)
    text = "".join(chunk.text for chunk in chunks)
    assert text == slow.text()
    assert text in ('The answer is {"colour": "red"}', 'The answer is {"colour": "green"}')
    assert any(chunk.forced for chunk in chunks)
    assert fast.finish_reason == "stop"
    assert fast.usage.completion_tokens <= slow.usage.completion_tokens + 1


def test_cancel_between_tokens(smollm2_engine) -> None:
    generation = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=200))
    seen = 0
    for _ in generation:
        seen += 1
        if seen == 3:
            threading.Thread(target=generation.cancel).start()
            break
    generation.close()
    assert generation.cancelled
    # the engine is free again
    assert smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=2)).text()


def test_prompt_longer_than_the_context_says_by_how_much(smollm2_engine) -> None:
    with pytest.raises(RequestError, match=r"more than the context of 2048 tokens") as error:
        smollm2_engine.generate("word " * 3000)
    assert error.value.code == "context_length_exceeded"


def test_bad_grammar_is_a_schema_error(smollm2_engine) -> None:
    with pytest.raises(SchemaError):
        smollm2_engine.generate(PROMPT, constraint=LarkConstraint("start: undefined_rule\n"))


def test_tokenizer_is_built_once(smollm2_engine) -> None:
    assert smollm2_engine.lltokenizer is smollm2_engine.lltokenizer


async def test_async_iteration_and_cancellation(smollm2_engine) -> None:
    generation = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=50))
    texts = []
    chunks = aiter(generation)
    async for chunk in chunks:
        texts.append(chunk.text)
        if len(texts) == 2:
            break
    await chunks.aclose()
    assert len(texts) == 2 and generation.cancelled
    whole = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=5))
    assert "".join([chunk.text async for chunk in whole]) and whole.finish_reason == "length"


def test_interleaved_and_abandoned_generations_stay_correct(smollm2_engine) -> None:
    alone = smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=8)).text()
    other_prompt = "<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"
    other_alone = smollm2_engine.generate(other_prompt, sampling=SamplingParams(max_tokens=8)).text()
    first = iter(smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=8)))
    second = iter(smollm2_engine.generate(other_prompt, sampling=SamplingParams(max_tokens=8)))
    a, b = [], []
    for x, y in zip(first, second):
        a.append(x.text)
        b.append(y.text)
    a += [chunk.text for chunk in first]
    b += [chunk.text for chunk in second]
    assert "".join(a) == alone and "".join(b) == other_alone
    abandoned = iter(smollm2_engine.generate(PROMPT, sampling=SamplingParams(max_tokens=50)))
    next(abandoned)  # never closed: must not block the next request
    assert smollm2_engine.generate(other_prompt, sampling=SamplingParams(max_tokens=8)).text() == other_alone


def test_empty_prompt_is_a_request_error(smollm2_engine) -> None:
    with pytest.raises(RequestError, match="prompt: must not be empty"):
        smollm2_engine.generate("")
