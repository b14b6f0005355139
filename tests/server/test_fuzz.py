"""Fuzzing the request schemas (schemathesis, from the app's own OpenAPI document) against
the real server: whatever the body, the answer is never a 5xx, and an error has the shape
of the endpoint's API (Anthropic's under /v1/messages, OpenAI's elsewhere)."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.server.serving import Server

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def openapi(server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(httpx.get(server.base_url + "/openapi.json", timeout=10).json())


def send(server: Server, path: str, body: object, media_type: str | None) -> httpx.Response:
    """Send a generated body, with generation kept short (at most 4 tokens)."""
    if isinstance(body, dict):
        for key in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
            value = body.get(key)
            if value is None or (isinstance(value, int) and not isinstance(value, bool)):
                body[key] = max(1, min(value or 4, 4))
            elif isinstance(value, float) and value.is_integer() and value > 4:  # valid too: pydantic takes 5.0 as 5
                body[key] = 4.0
        content = json.dumps(body).encode()
    elif isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(body).encode()
    return httpx.post(server.base_url + path, content=content, timeout=120,
                      headers={"content-type": media_type or "application/json"})


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages",
                                  "/v1/messages/count_tokens"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@settings(max_examples=10, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_server_errors(server: Server, openapi: schemathesis.BaseSchema, path: str, mode: GenerationMode,
                          data: st.DataObject) -> None:
    case = data.draw(openapi[path]["POST"].as_strategy(mode))
    response = send(server, path, case.body, case.media_type)
    assert response.status_code < 500, (case.body, response.text)
    if response.status_code >= 400:
        body = response.json()
        if path.startswith("/v1/messages"):
            assert body["type"] == "error", body
        error = body["error"]
        assert error["message"] and error["type"]
    if mode is GenerationMode.NEGATIVE:
        assert response.status_code != 200 or isinstance(case.body, dict), case.body
