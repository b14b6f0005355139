"""Start and stop a real `toolwire serve` subprocess on loopback (tests and the load test)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
import httpx

MODEL = "smollm2-135m"
ALIAS = "m"
"""The short name the tests send as `model` (served through `--alias`)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command() -> list[str]:
    """`toolwire serve` through the CLI; through the command module alone while other
    subcommands are still missing."""
    try:
        from toolwire.cli import build_parser

        build_parser()
        return [sys.executable, "-m", "toolwire.cli", "serve"]
    except ImportError:
        return [sys.executable, "-m", "toolwire.commands.serve"]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    api_key: str | None = None
    log_path: str = ""

    def log(self) -> str:
        """What the server wrote to stdout and stderr."""
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    @property
    def v1(self) -> str:
        return self.base_url + "/v1"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def start_server(*args: str, api_key: str | None = None, timeout: float = 120) -> Server:
    """Start `toolwire serve --model smollm2-135m` on a free port; wait for /health."""
    port = free_port()
    # the aliases let tests (and gateways in front of an upstream named otherwise) say `model="m"` or MODEL
    command = [*serve_command(), "--model", MODEL, "--alias", ALIAS, "--alias", MODEL, "--port", str(port),
               "--ctx", "2048", *args]
    if api_key:
        command += ["--api-key", api_key]
    log = tempfile.NamedTemporaryFile(prefix="toolwire-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = Server(process, f"http://127.0.0.1:{port}", api_key, log.name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {server.log()[-2000:]}")
        try:
            if httpx.get(server.base_url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("server did not come up")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
