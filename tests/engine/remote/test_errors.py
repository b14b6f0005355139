"""Upstream failures become clear errors: the upstream's 4xx and message kept, 502 for
failures and unreachable servers, 504 for timeouts, never a hang; closing a generation
closes the upstream response."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Iterator

import pytest
from starlette.responses import JSONResponse, StreamingResponse

from tests.engine.remote.recorder import Recorder, serve, sse
from toolwire.engine.remote import remote_engine
from toolwire.engine.sampling import SamplingParams
from toolwire.errors import UpstreamError

MODELS = {("GET", "/v1/models"): lambda body: JSONResponse({"data": [{"id": "m", "max_model_len": 100}]}),
          ("POST", "/tokenize"): lambda body: JSONResponse({"tokens": [1, 2], "count": 2, "max_model_len": 100})}


def _upstream(route: Any) -> Iterator[Recorder]:
    yield from serve(Recorder({**MODELS, ("POST", "/v1/completions"): route}))


@pytest.fixture
def refusing() -> Iterator[Recorder]:
    yield from _upstream(lambda body: JSONResponse(
        {"object": "error", "message": "This model's maximum context length is 100 tokens", "type": "BadRequestError",
         "code": 400}, status_code=400))


@pytest.fixture
def failing() -> Iterator[Recorder]:
    yield from _upstream(lambda body: JSONResponse({"error": {"message": "CUDA out of memory"}}, status_code=500))


@pytest.fixture
def slow() -> Iterator[Recorder]:
    async def never() -> Any:
        await asyncio.sleep(30)
        yield b""

    yield from _upstream(lambda body: StreamingResponse(never(), media_type="text/event-stream"))


@pytest.fixture
def breaking() -> Iterator[Recorder]:
    yield from _upstream(lambda body: sse(
        {"choices": [{"index": 0, "text": "Hi", "finish_reason": None}]},
        {"error": {"message": "engine died", "code": 500}}))


@pytest.fixture
def endless() -> Iterator[Recorder]:
    async def tokens() -> Any:
        while True:
            yield b'data: {"choices": [{"index": 0, "text": "x", "finish_reason": null}]}\n\n'
            await asyncio.sleep(0.01)

    yield from _upstream(lambda body: StreamingResponse(tokens(), media_type="text/event-stream"))


def _generate(url: str, **options: Any) -> str:
    engine = remote_engine(url, "vllm", **options)
    try:
        return engine.generate("Hello", sampling=SamplingParams(max_tokens=4)).text()
    finally:
        engine.close()


def test_a_refusal_keeps_its_status_and_message(refusing: Recorder) -> None:
    with pytest.raises(UpstreamError) as caught:
        _generate(refusing.url)
    assert caught.value.status == 400
    assert "maximum context length is 100 tokens" in caught.value.message


def test_a_failing_upstream_is_a_502(failing: Recorder) -> None:
    with pytest.raises(UpstreamError) as caught:
        _generate(failing.url)
    assert caught.value.status == 502 and "CUDA out of memory" in caught.value.message


def test_an_unreachable_upstream_is_a_502_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket closes
    with pytest.raises(UpstreamError) as caught:
        remote_engine(f"http://127.0.0.1:{port}", "vllm")
    assert caught.value.status == 502 and "cannot reach upstream" in caught.value.message


def test_a_silent_upstream_times_out_as_504(slow: Recorder) -> None:
    with pytest.raises(UpstreamError) as caught:
        _generate(slow.url, timeout=0.5)
    assert caught.value.status == 504


def test_an_error_in_the_stream_is_raised(breaking: Recorder) -> None:
    with pytest.raises(UpstreamError, match="engine died"):
        _generate(breaking.url)


def test_a_wrong_kind_says_so() -> None:
    recorder = Recorder(dict(MODELS))
    for running in serve(recorder):
        with pytest.raises(UpstreamError, match="upstream-kind"):
            remote_engine(running.url, "llama.cpp")  # llama-server's /props is not there


def test_closing_a_generation_closes_the_upstream_response(endless: Recorder) -> None:
    engine = remote_engine(endless.url, "vllm")
    generation = engine.generate("Hello", sampling=SamplingParams(max_tokens=4))
    chunks = iter(generation)
    assert next(chunks).text == "x"
    generation.close()
    assert generation._chunks.events.response.is_closed
    engine.close()


def test_closing_before_reading_closes_it_too(endless: Recorder) -> None:
    engine = remote_engine(endless.url, "vllm")
    generation = engine.generate("Hello", sampling=SamplingParams(max_tokens=4))
    generation.close()
    assert generation._chunks.events.response.is_closed
    engine.close()


def test_cancel_stops_before_the_next_chunk(endless: Recorder) -> None:
    engine = remote_engine(endless.url, "vllm")
    generation = engine.generate("Hello", sampling=SamplingParams(max_tokens=4))
    chunks = iter(generation)
    next(chunks)
    generation.cancel()
    assert list(chunks) == []
    assert generation.finish_reason == "cancelled"
    engine.close()


def test_usage_of_a_generation_closed_early_is_counted(endless: Recorder) -> None:
    """The upstream reports usage at the end; a turn that stops early still tells the
    prompt (counted before sending) and the output the upstream tokenizes."""
    engine = remote_engine(endless.url, "vllm")
    generation = engine.generate("Hello", sampling=SamplingParams(max_tokens=4))
    chunks = iter(generation)
    next(chunks), next(chunks)
    generation.close()
    assert generation.usage.prompt_tokens == 2  # MODELS' /tokenize says every text is 2 tokens
    assert generation.usage.completion_tokens == 2
    assert endless.bodies("/tokenize")[-1] == {"prompt": "xx", "add_special_tokens": False, "model": "m"}
    engine.close()


def test_a_connection_closed_without_an_answer_is_tried_once_more() -> None:
    """What a server that drops idle kept-alive connections does to a request sent on one."""
    import threading

    from toolwire.engine.remote._http import Upstream

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    body = b'{"data": [{"id": "m"}]}'

    def serve_two() -> None:
        for attempt in range(2):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                if attempt == 1:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                       + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    thread = threading.Thread(target=serve_two, daemon=True)
    thread.start()
    upstream = Upstream(f"http://127.0.0.1:{port}")
    try:
        assert upstream.get("/v1/models") == {"data": [{"id": "m"}]}
    finally:
        upstream.close()
        thread.join(timeout=5)
        listener.close()
