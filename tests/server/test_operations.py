"""Running the server for many clients, against a real `toolwire serve` on SmolLM2: the
`model` names it answers to, input it refuses, the default token limit, `/metrics`, the
access log, and requests whose client left (answering or waiting)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Iterator

import anthropic
import httpx
import openai
import pytest

from tests.server.serving import ALIAS, MODEL, Server, start_server, stop_server

pytestmark = pytest.mark.model

DEFAULT_LIMIT = 24
LONG = [{"role": "user", "content": "Write a very long story about a dragon, at least two thousand words."}]


@pytest.fixture(scope="module")
def served() -> Iterator[Server]:
    """A server of its own: access log on, a small default token limit, one slot (so that a
    second request waits)."""
    running = start_server("--log-level", "info", "--max-tokens", str(DEFAULT_LIMIT), "--parallel", "1")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def client(served: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key="unused", max_retries=0, timeout=120)


def metric(server: Server, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when absent)."""
    text = httpx.get(server.base_url + "/metrics").text
    selector = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name + ("{" + selector + "}" if selector else "")) + r" ([0-9.e+]+)"
    found = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_idle(server: Server, within_s: float) -> float:
    """Seconds until no generation runs (fails after `within_s`)."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if not httpx.get(server.base_url + "/health").json()["running"]:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"a generation still runs after {within_s} s")


# -- the model a request names ----------------------------------------------------------------


def test_the_served_name_and_its_aliases_are_listed_and_answered(served: Server, client: openai.OpenAI) -> None:
    assert [card.id for card in client.models.list().data] == [MODEL, ALIAS]  # MODEL as an alias is no second name
    for name in (MODEL, ALIAS):
        assert client.chat.completions.create(model=name, messages=[{"role": "user", "content": "Hi"}],
                                              max_tokens=2).choices


def test_an_unknown_model_is_a_404_listing_the_served_names(served: Server, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    error = raised.value.body
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert MODEL in error["message"] and ALIAS in error["message"] and "--alias" in error["message"]
    claude = anthropic.Anthropic(base_url=served.base_url, api_key="unused", max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as refused:
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.body["error"]["type"] == "not_found_error"


# -- input the server refuses ------------------------------------------------------------------


def test_a_tool_message_must_name_its_call(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "content": "18 C"},
    ]
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=ALIAS, messages=messages)
    assert raised.value.body["param"] == "messages[2].tool_call_id"


def test_an_image_is_refused_not_dropped(client: openai.OpenAI) -> None:
    content = [{"type": "text", "text": "What is in this picture?"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": content}])
    assert raised.value.body["param"] == "messages[0].content[1]"
    assert "text only" in raised.value.body["message"]


@pytest.mark.parametrize("size", [20_000, 1_000_000], ids=["over-the-context", "over-the-template-sandbox"])
def test_a_prompt_longer_than_the_context_is_a_400_counting_the_overflow(client: openai.OpenAI, size: int) -> None:
    # a 1 MB message trips the template sandbox's size limit before the engine counts it
    words = "tool calling " * (size // 13)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": words}])
    body = raised.value.body
    assert body["code"] == "context_length_exceeded" and body["param"] == "messages"
    over = re.search(r"(\d+) or more over|(\d+) more than", body["message"])
    assert over and int(over.group(1) or over.group(2)) > 0, body["message"]


# -- limits, metrics, log ------------------------------------------------------------------------


def test_a_request_without_a_token_limit_gets_the_servers_default(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=ALIAS, messages=LONG)
    assert answer.usage.completion_tokens <= DEFAULT_LIMIT
    assert answer.choices[0].finish_reason == "length"
    asked = client.chat.completions.create(model=ALIAS, messages=LONG, max_tokens=DEFAULT_LIMIT + 16)
    assert asked.usage.completion_tokens > DEFAULT_LIMIT  # a request may ask for more


def test_metrics_count_tokens_and_requests_and_the_log_has_a_line_each(served: Server, client: openai.OpenAI) -> None:
    before = metric(served, "toolwire_generated_tokens_total")
    answers = [client.chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": "Say hi."}],
                                              max_tokens=8) for _ in range(2)]
    generated = sum(answer.usage.completion_tokens for answer in answers)
    assert metric(served, "toolwire_generated_tokens_total") == before + generated
    # the second request reuses the first one's prompt
    assert metric(served, "toolwire_prompt_tokens_reused_total") >= answers[1].usage.prompt_tokens - 1
    assert metric(served, "toolwire_slots_busy") == 0 and metric(served, "toolwire_queue_length") == 0
    assert metric(served, "toolwire_request_seconds_count", path="/v1/chat/completions", status="200") >= 2
    assert re.search(r"toolwire\.access: POST /v1/chat/completions 200 [0-9.]+s 127\.0\.0\.1:\d+", served.log())


# -- clients that leave ------------------------------------------------------------------------------


def _give_up_after(server: Server, seconds: float, errors: list[BaseException]) -> None:
    """A non-streamed request for a long answer whose client stops waiting."""
    try:
        httpx.post(server.v1 + "/chat/completions", timeout=seconds,
                   json={"model": ALIAS, "messages": LONG, "max_tokens": 1500})
    except httpx.TimeoutException as exc:
        errors.append(exc)


def test_a_non_streamed_request_stops_when_its_client_leaves(served: Server) -> None:
    before = metric(served, "toolwire_generated_tokens_total")
    errors: list[BaseException] = []
    _give_up_after(served, 1.5, errors)
    assert errors, "the answer came back before the client gave up: make it longer"
    wait_idle(served, within_s=2)
    generated = metric(served, "toolwire_generated_tokens_total") - before
    assert 0 < generated < 1500  # stopped, and the tokens it did make are counted
    assert metric(served, "toolwire_request_seconds_count", path="/v1/chat/completions", status="499") >= 1


def test_a_waiting_request_whose_client_left_is_never_generated(served: Server, client: openai.OpenAI) -> None:
    prompt_tokens = client.chat.completions.create(model=ALIAS, messages=LONG, max_tokens=1).usage.prompt_tokens
    before = metric(served, "toolwire_request_seconds_count", path="/v1/chat/completions", status="499")
    evaluated = metric(served, "toolwire_prompt_tokens_total")
    errors: list[BaseException] = []
    first = threading.Thread(target=_give_up_after, args=(served, 3.0, errors))
    first.start()
    time.sleep(0.5)  # the first one holds the slot
    _give_up_after(served, 0.5, errors)  # waits in the queue, then leaves
    first.join()
    wait_idle(served, within_s=2)
    time.sleep(0.3)  # the queued one takes the slot and gives it up
    assert len(errors) == 2
    assert metric(served, "toolwire_request_seconds_count", path="/v1/chat/completions", status="499") == before + 2
    # one turn ran: the first request's (the second never reached the model)
    assert metric(served, "toolwire_prompt_tokens_total") == evaluated + prompt_tokens
    assert metric(served, "toolwire_slots_busy") == 0
