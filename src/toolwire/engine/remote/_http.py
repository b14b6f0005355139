"""HTTP to an engine server: JSON requests, server-sent events, and the upstream's errors
as `UpstreamError`s (4xx kept with the upstream's message; 502 for failures and
unreachable servers; 504 for timeouts). Nothing waits forever: connecting, writing and
each read have timeouts."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import httpx

from toolwire.errors import UpstreamError

__all__ = ["Upstream"]

_MISCONFIGURED = {401: "refused the gateway's API key (--upstream-api-key)",
                  403: "refused the gateway's API key (--upstream-api-key)",
                  404: "has no such route (is --upstream-kind right?)",
                  405: "has no such route (is --upstream-kind right?)"}
"""Upstream 4xx answers that are the gateway's configuration, not the client's request."""


class Upstream:
    """One engine server at `base_url`."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 600.0,
                 connect_timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # idle connections are dropped before servers drop them (llama-server's cpp-httplib
        # closes them after 5 s), so a request rarely lands on a connection being closed
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=2.0)
        self.client = httpx.Client(base_url=self.base_url, headers=headers, limits=limits,
                                   timeout=httpx.Timeout(timeout, connect=connect_timeout))

    def close(self) -> None:
        self.client.close()

    def get(self, path: str) -> Any:
        return self._json(self._send("GET", path))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._json(self._send("POST", path, body))

    def stream(self, path: str, body: dict[str, Any]) -> "EventStream":
        """Open a server-sent-events response; errors the upstream answers with up front
        raise here."""
        try:
            response = self._retrying(lambda: self.client.send(self.client.build_request("POST", path, json=body),
                                                               stream=True))
        except httpx.TimeoutException as error:
            raise UpstreamError(f"upstream {self.base_url}{path} did not answer in time: {error}", status=504) from None
        except httpx.TransportError as error:
            raise UpstreamError(f"cannot reach upstream {self.base_url}: {error}") from None
        if response.status_code >= 400:
            try:
                response.read()
            finally:
                response.close()
            raise self._refused(path, response)
        return EventStream(response, self.base_url + path)

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = self._retrying(lambda: self.client.request(method, path, json=body))
        except httpx.TimeoutException as error:
            raise UpstreamError(f"upstream {self.base_url}{path} did not answer in time: {error}", status=504) from None
        except httpx.TransportError as error:
            raise UpstreamError(f"cannot reach upstream {self.base_url}: {error}") from None
        if response.status_code >= 400:
            raise self._refused(path, response)
        return response

    @staticmethod
    def _retrying(send: Callable[[], httpx.Response]) -> httpx.Response:
        """`send()`, once more if the server closed the connection without answering: a
        kept-alive connection it closed as the request went out (the request was never
        read, so sending it again is safe)."""
        try:
            return send()
        except httpx.RemoteProtocolError:
            return send()

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"upstream {response.url} answered with something that is not JSON: "
                                f"{response.text[:200]!r}") from None

    def _refused(self, path: str, response: httpx.Response) -> UpstreamError:
        status = response.status_code
        message = error_message(response.text) or response.reason_phrase
        if status in _MISCONFIGURED:
            return UpstreamError(f"upstream {self.base_url}{path} {_MISCONFIGURED[status]}: {message}")
        if 400 <= status < 500:
            return UpstreamError(f"upstream: {message}", status=400 if status == 422 else status)
        return UpstreamError(f"upstream {self.base_url}{path} failed with HTTP {status}: {message}")


class EventStream:
    """The `data:` payloads of a server-sent-events response, decoded; `[DONE]` ends it.
    `close()` closes the response, which is how a generation is cancelled upstream."""

    def __init__(self, response: httpx.Response, where: str) -> None:
        self.response = response
        self.where = where
        self._lines = response.iter_lines()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        while True:
            try:
                line = next(self._lines)
            except StopIteration:
                raise
            except httpx.TimeoutException as error:
                raise UpstreamError(f"upstream {self.where} stopped answering: {error}", status=504) from None
            except httpx.TransportError as error:
                raise UpstreamError(f"upstream {self.where} broke the stream: {error}") from None
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                raise StopIteration
            try:
                event = json.loads(data)
            except ValueError:
                raise UpstreamError(f"upstream {self.where} sent an event that is not JSON: {data[:200]!r}") from None
            if isinstance(event, dict) and "error" in event:
                raise UpstreamError(f"upstream: {error_message(data)}")
            return event

    def close(self) -> None:
        self.response.close()


def error_message(text: str) -> str:
    """The message of an error body in any of the shapes engine servers use: OpenAI's
    `{"error": {"message"}}`, llama.cpp's (the same), vLLM's `{"message"}`, FastAPI's
    `{"detail"}`; else the text itself."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            for key in ("message", "detail", "msg"):
                if error.get(key):
                    return str(error[key])
        if isinstance(error, str):
            return error
    return text.strip()[:500]
