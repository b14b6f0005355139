"""Start and stop a real `llama-server` (built by `toolwire build llama-server`) on
loopback, serving a packaged model."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time

import httpx
import pytest

from tests.server.serving import free_port
from toolwire.engine.build import llama_server_path
from toolwire.models import resolve_model

NOT_BUILT = "llama-server is not built: run `toolwire build llama-server` (.ci/run does)"


class LlamaServer:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: str) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_llama_server(model: str = "smollm2-135m", *, ctx: int = 2048, timeout: float = 120) -> LlamaServer:
    """`llama-server -m MODEL` on a free loopback port, one slot; skips the test when the
    binary has not been built."""
    binary = llama_server_path()
    if binary is None:
        pytest.skip(NOT_BUILT)
    port = free_port()
    command = [str(binary), "-m", str(resolve_model(model)), "--host", "127.0.0.1", "--port", str(port),
               "-c", str(ctx), "-np", "1", "-t", str(max(1, os.cpu_count() or 1)), "--no-webui"]
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = LlamaServer(process, f"http://127.0.0.1:{port}", log.name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama-server exited: {server.log()[-2000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"llama-server did not come up: {server.log()[-2000:]}")
