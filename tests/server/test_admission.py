"""Bearer keys (401) and the generation queue (429) on a server of their own."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.server.serving import Server, start_server, stop_server

pytestmark = pytest.mark.model
KEY = "sk-test-key"
LONG = {"messages": [{"role": "user", "content": "Write a long story about a dragon."}], "max_tokens": 400, "stream": True}


@pytest.fixture(scope="module")
def guarded() -> Iterator[Server]:
    """A server that needs a key, runs one generation at a time and lets one request wait."""
    running = start_server("--parallel", "1", "--max-queue", "1", api_key=KEY)
    yield running
    stop_server(running)


def test_missing_or_wrong_key_is_401(guarded: Server) -> None:
    for api_key in ("wrong", ""):
        client = openai.OpenAI(base_url=guarded.v1, api_key=api_key or "x", max_retries=0,
                               default_headers={} if api_key else {"Authorization": ""})
        with pytest.raises(openai.AuthenticationError) as caught:
            client.models.list()
        assert caught.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    assert httpx.get(guarded.v1 + "/models", timeout=10).status_code == 401


def test_right_key_and_open_health(guarded: Server) -> None:
    client = openai.OpenAI(base_url=guarded.v1, api_key=KEY, max_retries=0)
    assert client.models.list().data[0].id == "smollm2-135m"
    assert httpx.get(guarded.base_url + "/health", timeout=10).status_code == 200


def test_anthropic_clients_send_the_key_as_x_api_key(guarded: Server) -> None:
    ask = {"model": "m", "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]}
    client = anthropic.Anthropic(base_url=guarded.base_url, api_key=KEY, max_retries=0)
    assert client.messages.create(**ask).type == "message"
    wrong = anthropic.Anthropic(base_url=guarded.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        wrong.messages.create(**ask)
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    response = httpx.post(guarded.v1 + "/responses", json={"input": "Hi", "max_output_tokens": 2},
                          headers={"x-api-key": KEY}, timeout=60)
    assert response.status_code == 200 and response.json()["object"] == "response"


def test_queue_full_is_429_with_retry_after(guarded: Server) -> None:
    """One generation runs, one waits; the third request is turned away at once."""
    stop = threading.Event()

    def hold() -> None:
        with httpx.stream("POST", guarded.v1 + "/chat/completions", json=LONG, headers=guarded.headers(), timeout=60):
            stop.wait(timeout=60)  # leaving the block disconnects

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = httpx.get(guarded.base_url + "/health", timeout=5).json()
            if status["running"] and status["waiting"] == 1:
                break
            time.sleep(0.05)
        assert status["running"] and status["waiting"] == 1, status
        response = httpx.post(guarded.v1 + "/chat/completions", json=LONG, headers=guarded.headers(), timeout=10)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        messages = httpx.post(guarded.v1 + "/messages", headers={"x-api-key": KEY}, timeout=10,
                              json={"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]})
        assert messages.status_code == 429 and messages.json()["error"]["type"] == "rate_limit_error"
    finally:
        stop.set()
        for thread in holders:
            thread.join(timeout=60)
    assert httpx.get(guarded.base_url + "/health", timeout=5).json()["waiting"] == 0
