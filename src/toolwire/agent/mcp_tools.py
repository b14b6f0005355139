"""MCP servers as tool sources: `mcp("python server.py")` runs a server's tools like
Python functions.

    notes = toolwire.mcp("python examples/mcp_server.py")
    toolwire.run("Convert 10 km to miles", tools=notes)          # started and stopped for the run

    async with toolwire.mcp("http://127.0.0.1:8000/mcp") as tools:   # one session, many runs
        await toolwire.arun("...", tools=tools)

A command is spawned and spoken to over stdio; an `http(s)://` URL over streamable HTTP
(the official `mcp` SDK does both). Opening lists the server's tools; each becomes a
`ToolFunction` with the server's input schema, so the loop validates arguments as it does
for Python functions. A call's result is its text content, joined; a result flagged
`isError`, a call that times out and a server that dies become tool errors the model is
told about, and the run goes on: a stdio server that exited is started again on the next
call. Every request has a timeout, and a stopped server's process is reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shlex
from pathlib import Path
from typing import Any, Mapping, Sequence

from toolwire.agent.registry import ToolError, ToolFunction, Toolkit
from toolwire.errors import SchemaError, ToolSourceError
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.types import FunctionDefinition

__all__ = ["MCPTools", "mcp"]

_CONNECTION_CLOSED = -32000  # JSON-RPC code the SDK raises once the server is gone
logger = logging.getLogger("toolwire.agent")
_STOP_SECONDS = 10.0  # the SDK closes stdin, waits, terminates, kills: about 6 s at worst


def mcp(server: str | Sequence[str], *, timeout: float = 30.0, start_timeout: float = 60.0,
        namespace: str | None = None, env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> MCPTools:
    """The tools of an MCP server: a command line (`"python server.py"`, or its argv as a
    list) run over stdio, or an `http(s)://` URL (streamable HTTP). `timeout` bounds each
    request and `start_timeout` starting the server (its handshake), in seconds;
    `namespace` prefixes the tool names (`namespace.tool`) and takes the server's
    instructions as its description; `env` (added to a minimal safe environment: PATH,
    HOME, ...) and `cwd` apply to a command."""
    return MCPTools(server, timeout=timeout, start_timeout=start_timeout, namespace=namespace, env=env, cwd=cwd)


def _is_url(server: str | Sequence[str]) -> bool:
    return isinstance(server, str) and server.startswith(("http://", "https://"))


class MCPTools:
    """One MCP server's tools (a `ConnectedTools` source); see `mcp()`."""

    def __init__(self, server: str | Sequence[str], *, timeout: float = 30.0, start_timeout: float = 60.0,
                 namespace: str | None = None, env: Mapping[str, str] | None = None,
                 cwd: str | Path | None = None) -> None:
        argv = [] if _is_url(server) else (shlex.split(server) if isinstance(server, str) else list(server))
        if not _is_url(server) and not argv:
            raise ToolSourceError("mcp: give a command line or an http(s):// URL")
        if timeout <= 0 or start_timeout <= 0:
            raise ToolSourceError("mcp: timeouts must be positive")
        self.server = server
        self.argv = argv
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.namespace = namespace
        self.env = dict(env or {})
        self.cwd = cwd
        self._client: Any = None
        self._stop: asyncio.Event | None = None
        self._owner: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Lock | None = None
        self._toolkit: Toolkit | None = None

    @property
    def label(self) -> str:
        """The server as the user named it."""
        return self.server if isinstance(self.server, str) else shlex.join(self.argv)

    def __repr__(self) -> str:
        return f"mcp({self.label!r})"

    @property
    def is_open(self) -> bool:
        return self._toolkit is not None

    async def __aenter__(self) -> Toolkit:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the session ---------------------------------------------------------------------

    def _target(self) -> Any:
        """What the SDK's `Client` connects to."""
        if _is_url(self.server):
            return self.server
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        return stdio_client(StdioServerParameters(command=self.argv[0], args=self.argv[1:], env=self.env or None,
                                                  cwd=self.cwd))

    async def _own(self, ready: asyncio.Future[Any], stop: asyncio.Event) -> None:
        """Hold one session, in a task of its own: the SDK's task groups must be entered and
        left by the same task, while calls come from any task."""
        from mcp import Client

        try:
            async with Client(self._target()) as client:  # requests carry their own timeouts
                ready.set_result(client)
                await stop.wait()
        except BaseException as error:  # reported to whoever waits for the session
            if not ready.done():
                ready.set_exception(error)
            else:  # a session that broke after it started: its calls have reported it
                logger.debug("MCP session with %s ended: %r", self.label, error)
            if isinstance(error, asyncio.CancelledError):
                raise

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        self._stop = asyncio.Event()
        self._owner = loop.create_task(self._own(ready, self._stop), name=f"mcp {self.label}")
        try:
            self._client = await asyncio.wait_for(asyncio.shield(ready), self.start_timeout)
        except asyncio.TimeoutError:
            await self._disconnect()
            raise ToolSourceError(f"mcp: {self.label} did not start within {self.start_timeout:g} s") from None
        except Exception as error:
            await self._disconnect()
            raise ToolSourceError(f"mcp: cannot start {self.label}: {_reason(error)}") from None

    async def _disconnect(self) -> None:
        """End the session and wait for its task (the SDK stops and reaps the process)."""
        owner, self._owner, self._client = self._owner, None, None
        if owner is None:
            return
        assert self._stop is not None
        self._stop.set()
        try:
            await asyncio.wait_for(owner, _STOP_SECONDS)
        except asyncio.TimeoutError:
            owner.cancel()
            with contextlib.suppress(BaseException):
                await owner
        except Exception:  # a session that failed has nothing left to clean
            pass

    async def open(self) -> Toolkit:
        """Start the server and list its tools (once; again while open returns the same)."""
        if self._toolkit is not None:
            return self._toolkit
        self._reconnecting = asyncio.Lock()
        await self._connect()
        try:
            listed = await self._list()
            self._toolkit = self._tools(listed)
        except BaseException:
            await self._disconnect()
            raise
        return self._toolkit

    async def close(self) -> None:
        """Stop the server (a stdio server's process is ended and reaped)."""
        self._toolkit = None
        await self._disconnect()

    async def _list(self) -> list[Any]:
        tools: list[Any] = []
        cursor = None
        try:
            while True:
                page = await asyncio.wait_for(self._client.list_tools(cursor=cursor), self.timeout)
                tools += page.tools
                cursor = page.next_cursor
                if not cursor:
                    return tools
        except asyncio.TimeoutError:
            raise ToolSourceError(f"mcp: {self.label} did not list its tools within {self.timeout:g} s") from None
        except Exception as error:
            raise ToolSourceError(f"mcp: {self.label} could not list its tools: {_reason(error)}") from None

    def _tools(self, listed: list[Any]) -> Toolkit:
        instructions = getattr(self._client, "instructions", None) if self.namespace else None
        toolkit = Toolkit(self.namespace, description=instructions)
        for tool in listed:
            where = f"mcp: {self.label}: tool {tool.name!r}: inputSchema"
            try:
                parameters = normalize_parameters(tool.input_schema, where=where)
            except SchemaError as error:
                raise ToolSourceError(str(error)) from None
            definition = FunctionDefinition(name=tool.name, description=tool.description, parameters=parameters)
            toolkit.add(ToolFunction.from_definition(definition, self._caller(tool.name)))
        return toolkit

    # -- calls ---------------------------------------------------------------------------

    def _caller(self, name: str) -> Any:
        async def call(**arguments: Any) -> str:
            return await self.call(name, arguments)

        call.__name__ = name
        return call

    async def call(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Call tool `name`: its text result, or ToolError with what went wrong."""
        client = await self._session()
        try:
            result = await client.call_tool(name, dict(arguments), read_timeout_seconds=self.timeout)
        except Exception as error:
            if _gone(error):
                await self._disconnect()
                raise ToolError(f"the MCP server {self.label} exited during the call ({_reason(error)})") from None
            raise ToolError(f"MCP server {self.label}: {_reason(error)}") from None
        text = result_text(result)
        if result.is_error:
            raise ToolError(text or f"{name} failed")
        return text

    async def _session(self) -> Any:
        """The live session; a server that exited is started again (once per call)."""
        if self._toolkit is None or self._reconnecting is None:
            raise ToolError(f"the MCP server {self.label} is not open")
        async with self._reconnecting:
            if self._client is None or self._owner is None or self._owner.done():
                await self._disconnect()
                try:
                    await self._connect()
                except ToolSourceError as error:
                    raise ToolError(str(error)) from None
            return self._client


def _gone(error: BaseException) -> bool:
    """Whether the connection to the server is lost (not merely one request failed)."""
    import anyio

    code = getattr(error, "code", None)
    return code == _CONNECTION_CLOSED or isinstance(error, (anyio.ClosedResourceError, anyio.BrokenResourceError,
                                                            anyio.EndOfStream, ConnectionError))


def _reason(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return str(message or error) or type(error).__name__


def result_text(result: Any) -> str:
    """A tool result as the tool message's text: its text blocks (and embedded text
    resources) joined by newlines, a note for content the model cannot read, the
    structured content as JSON when there is no content block."""
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        else:
            mime = getattr(block, "mime_type", None) or getattr(getattr(block, "resource", None), "mime_type", None)
            parts.append(f"[{kind} content{f' ({mime})' if mime else ''} omitted: the model reads text only]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)
