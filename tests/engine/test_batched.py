"""engine.batched on the real SmolLM2 model: concurrent constrained answers equal the same
requests run one at a time, a cancelled generation frees its slot within one step, and
alternating conversations keep their own cached prefixes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import jsonschema
import pytest

from toolwire.chat import ChatModel
from toolwire.engine.batched import BatchedLlamaEngine
from toolwire.engine.sampling import SamplingParams
from toolwire.formats import get_format
from toolwire.models import resolve_model

pytestmark = pytest.mark.model

SLOTS = 4
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                            "parameters": {"type": "object", "properties": {
                                                "city": {"type": "string"},
                                                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                                                "required": ["city"]}}}
CONVERT = {"type": "function", "function": {"name": "convert", "description": "Convert an amount of money",
                                            "parameters": {"type": "object", "properties": {
                                                "amount": {"type": "number"}, "to": {"type": "string"}},
                                                "required": ["amount", "to"]}}}
SCHEMAS = {tool["function"]["name"]: tool["function"]["parameters"] for tool in (WEATHER, CONVERT)}


@pytest.fixture(scope="module")
def engine() -> Iterator[BatchedLlamaEngine]:
    batched = BatchedLlamaEngine(resolve_model("smollm2-135m"), slots=SLOTS, n_ctx=2048)
    yield batched
    batched.close()


NAMED = {"type": "function", "function": {"name": "convert"}}
REQUESTS = [  # four formats x tool_choice auto, required and named, questions for both tools
    ("chatml-functions", "Weather in Oslo?", "required"),
    ("chatml-functions", "Convert 20 dollars to euros.", NAMED),
    ("hermes", "What's the weather in Lima in fahrenheit?", "auto"),
    ("hermes", "Change 5 euros to yen.", NAMED),
    ("generic", "Is it raining in Cairo?", "required"),
    ("generic", "How much is 100 USD in GBP?", "required"),
    ("llama3-json", "Temperature in Seoul?", "required"),
    ("llama3-json", "Convert 7.5 pounds to dollars.", NAMED),
]


def _ask(engine: BatchedLlamaEngine, request: tuple[str, str, Any]) -> dict[str, Any]:
    format_name, question, choice = request
    model = ChatModel(engine, get_format(format_name), "smollm2")
    return model.chat([{"role": "user", "content": question}], tools=[WEATHER, CONVERT], tool_choice=choice,
                      temperature=0.0, max_tokens=80)  # type: ignore[return-value]


def _answer(message: dict[str, Any]) -> tuple[Any, ...]:
    return message.get("content"), [call["function"] for call in message.get("tool_calls") or []]


def test_concurrent_constrained_answers_equal_the_same_requests_one_at_a_time(engine: BatchedLlamaEngine) -> None:
    assert len(REQUESTS) == 8
    alone = [_ask(engine, request) for request in REQUESTS]
    steps = engine.steps
    with ThreadPoolExecutor(max_workers=len(REQUESTS)) as pool:
        together = list(pool.map(lambda request: _ask(engine, request), REQUESTS))
    for request, one, batched in zip(REQUESTS, alone, together):
        message = batched["choices"][0]["message"]
        if request[2] != "auto":  # under auto this model answers in text
            assert message.get("tool_calls"), (request, message)
        for call in message.get("tool_calls") or []:
            jsonschema.validate(json.loads(call["function"]["arguments"]), SCHEMAS[call["function"]["name"]])
        assert _answer(message) == _answer(one["choices"][0]["message"]), request
    # they ran together: fewer batches than the requests' steps one at a time would take
    assert engine.steps - steps < sum(answer["usage"]["completion_tokens"] for answer in together)


def test_a_cancelled_generation_frees_its_slot_within_one_step(engine: BatchedLlamaEngine) -> None:
    prompt = "<|im_start|>user\nWrite a long story about a dragon.<|im_end|>\n<|im_start|>assistant\n"
    generation = engine.generate(prompt, sampling=SamplingParams(max_tokens=500, temperature=0.0))
    chunks = iter(generation)
    next(chunks), next(chunks)
    assert engine.busy_slots == 1
    at_cancel = engine.steps
    generation.cancel()  # from any thread; here the consumer's
    deadline = time.monotonic() + 10
    while engine.busy_slots and time.monotonic() < deadline:
        time.sleep(0.005)
    assert engine.busy_slots == 0
    assert engine.steps - at_cancel <= 1
    assert generation.usage.completion_tokens < 500


def test_a_consumer_that_stops_reading_frees_its_slot(engine: BatchedLlamaEngine) -> None:
    prompt = "<|im_start|>user\nList every country in the world.<|im_end|>\n<|im_start|>assistant\n"
    generation = engine.generate(prompt, sampling=SamplingParams(max_tokens=500))
    for _ in zip(range(3), generation):
        pass
    generation.close()
    deadline = time.monotonic() + 10
    while engine.busy_slots and time.monotonic() < deadline:
        time.sleep(0.005)
    assert engine.busy_slots == 0


def test_alternating_conversations_keep_their_own_prefix(engine: BatchedLlamaEngine) -> None:
    model = ChatModel(engine, get_format("chatml-functions"), "smollm2")
    first = [{"role": "user", "content": "Tell me about the Alps in one sentence."}]
    second = [{"role": "user", "content": "Name three rivers of South America, briefly."}]
    answers = {}
    for name, conversation in (("first", first), ("second", second)):
        answers[name] = model.chat(conversation, temperature=0.0, max_tokens=16)
    for name, conversation in (("first", first), ("second", second)):
        reply = answers[name]["choices"][0]["message"]["content"]
        longer = conversation + [{"role": "assistant", "content": reply}, {"role": "user", "content": "And more?"}]
        usage = model.chat(longer, temperature=0.0, max_tokens=4)["usage"]
        # each turn two found its own turn one in a slot: the whole first prompt was reused
        assert usage["prompt_tokens_details"]["cached_tokens"] >= answers[name]["usage"]["prompt_tokens"] - 1, name


def test_scoring_runs_beside_generations(engine: BatchedLlamaEngine) -> None:
    prompt = "<|im_start|>user\nCount to ten.<|im_end|>\n<|im_start|>assistant\n"
    alone = engine.continuation_logprobs(prompt, "1, 2, 3")
    generation = engine.generate(prompt, sampling=SamplingParams(max_tokens=40))
    done = threading.Event()
    threading.Thread(target=lambda: (generation.text(), done.set()), daemon=True).start()
    beside = engine.continuation_logprobs(prompt, "1, 2, 3")
    done.wait(60)
    assert [piece for piece, _ in beside] == [piece for piece, _ in alone]
    assert all(abs(a - b) < 0.05 for (_, a), (_, b) in zip(alone, beside))
