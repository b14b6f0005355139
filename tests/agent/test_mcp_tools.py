"""toolwire.agent.mcp_tools against the real example MCP server (examples/mcp_server.py),
spawned over stdio (and once over streamable HTTP): listing, calls through the loop's own
`execute_calls`, server errors, timeouts, a crash mid-call, and that no process is left."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import httpx
import jsonschema
import psutil
import pytest

from tests.agent.scripted import ScriptedBackend, call, calls, text
from tests.agent.test_chat_command import EXAMPLES
from tests.server.serving import free_port
from toolwire.agent.backends import LocalBackend
from toolwire.agent.loop import arun, execute_calls, run
from toolwire.agent.mcp_tools import MCPTools, mcp
from toolwire.agent.registry import Toolkit, as_toolkit, open_tools
from toolwire.chat import ChatModel, load
from toolwire.errors import SchemaError, ToolSourceError

pytestmark = pytest.mark.timeout(300)

SERVER = [sys.executable, str(EXAMPLES / "mcp_server.py")]
T = TypeVar("T")


def servers_running() -> list[psutil.Process]:
    """Example servers this test process started that are still alive (zombies count)."""
    return [child for child in psutil.Process().children(recursive=True)
            if "mcp_server.py" in " ".join(child.cmdline() if child.status() != psutil.STATUS_ZOMBIE else ["mcp_server.py"])]


def run_async(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(body())


def contents(messages: list[dict[str, Any]]) -> list[str]:
    return [message["content"] for message in messages]


def test_tools_are_listed_with_their_schemas_and_called_through_the_loop() -> None:
    async def body() -> tuple[Toolkit, list[dict[str, Any]]]:
        async with mcp(SERVER) as toolkit:
            results = await execute_calls(toolkit, [
                call("convert_length", {"value": 10, "from_unit": "km", "to_unit": "mi"}, id="c1"),
                call("add_note", {"text": "buy milk"}, id="c2"),
                call("list_notes", {}, id="c3"),
                call("convert_length", {"value": "3", "from_unit": "m", "to_unit": "cm"}, id="c4"),  # coerced locally
                call("convert_length", {"value": 1, "from_unit": "parsec", "to_unit": "m"}, id="c5")])
            return toolkit, results

    toolkit, results = run_async(body)
    assert toolkit.names == ["convert_length", "convert_temperature", "add_note", "list_notes", "wait", "crash"]
    schema = toolkit.get("convert_length").parameters
    assert schema["required"] == ["value", "from_unit", "to_unit"] and "mi" in schema["properties"]["to_unit"]["enum"]
    assert contents(results)[:4] == ["10 km = 6.21371 mi", "noted (1 notes)", "buy milk", "3 m = 300 cm"]
    assert json.loads(results[4]["content"])["error"].startswith("invalid arguments for convert_length")  # never sent
    assert [result["tool_call_id"] for result in results] == ["c1", "c2", "c3", "c4", "c5"]
    assert servers_running() == []


def test_a_failing_tool_is_a_tool_error() -> None:
    async def body() -> list[dict[str, Any]]:
        async with mcp(SERVER) as toolkit:
            return await execute_calls(toolkit, [call("wait", {"seconds": -1})])

    (result,) = run_async(body)
    assert json.loads(result["content"]) == {"error": "Error executing tool wait: seconds must be 0 or more"}


def test_timeouts_become_tool_errors_and_the_session_survives_them() -> None:
    async def body() -> list[dict[str, Any]]:
        async with mcp(SERVER, timeout=1.5) as toolkit:
            slow = await execute_calls(toolkit, [call("wait", {"seconds": 30})])
            cut = await execute_calls(toolkit, [call("wait", {"seconds": 30})], timeout=1.0)  # the loop's own limit
            after = await execute_calls(toolkit, [call("convert_temperature", {"value": 100, "from_unit": "C", "to_unit": "F"})])
            return slow + cut + after

    started = time.monotonic()
    slow, cut, after = run_async(body)
    assert time.monotonic() - started < 60
    assert "timed out" in json.loads(slow["content"])["error"]
    assert json.loads(cut["content"])["error"] == "TimeoutError: wait did not finish within 1 s"
    assert after["content"] == "100 C = 212 F"


def test_a_crash_mid_call_is_a_tool_error_and_the_next_call_restarts_the_server() -> None:
    async def body() -> tuple[list[dict[str, Any]], list[psutil.Process], list[dict[str, Any]]]:
        async with mcp(SERVER) as toolkit:
            await execute_calls(toolkit, [call("add_note", {"text": "lost with the process"})])
            crashed = await execute_calls(toolkit, [call("crash", {})])
            left = servers_running()  # the dead one is reaped before the error is reported
            again = await execute_calls(toolkit, [call("list_notes", {}), call("convert_length", {
                "value": 1, "from_unit": "ft", "to_unit": "in"})])
            return crashed, left, again

    crashed, left, again = run_async(body)
    assert "exited during the call" in json.loads(crashed[0]["content"])["error"]
    assert left == []
    assert contents(again) == ["no notes", "1 ft = 12 in"]  # a new process, with its own (empty) notes
    assert servers_running() == []


def test_run_opens_an_unopened_server_and_stops_it_after() -> None:
    backend = ScriptedBackend(calls(call("convert_length", {"value": 2, "from_unit": "mi", "to_unit": "km"}, id="c1")),
                              text("About 3.2 km."))
    result = asyncio.run(arun("How far is 2 miles in km?", tools=mcp(SERVER), model=backend))
    assert result.answer == "About 3.2 km." and result.messages[2]["content"] == "2 mi = 3.21869 km"
    assert backend.requests[1].messages[-1]["content"] == "2 mi = 3.21869 km"  # the server's answer reached the model
    assert [tool["function"]["name"] for tool in backend.requests[0].tools][:2] == ["convert_length", "convert_temperature"]
    assert servers_running() == []


def test_an_open_server_stays_open_across_runs_and_mixes_with_functions() -> None:
    def shout(word: str) -> str:
        """Shout a word."""
        return word.upper()

    async def body() -> tuple[Any, Any]:
        async with mcp(SERVER, namespace="units") as toolkit:
            first = await arun("Note it", tools=[toolkit, shout], model=ScriptedBackend(
                calls(call("units.add_note", {"text": "a"})), text("ok")))
            second = await arun("List", tools=[toolkit], model=ScriptedBackend(
                calls(call("units.list_notes", {})), text("ok")))
            return first, second, toolkit

    first, second, toolkit = run_async(body)
    assert second.messages[2]["content"] == "a"  # the same server process: its note is still there
    assert toolkit.namespaces == {"units": "Unit conversions and a notes list."}
    assert "units.crash" in toolkit.names and "shout" not in toolkit.names
    assert servers_running() == []


def test_streamable_http_server() -> None:
    port = free_port()
    process = subprocess.Popen([*SERVER, "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)

        async def body() -> list[dict[str, Any]]:
            async with mcp(f"http://127.0.0.1:{port}/mcp") as toolkit:
                return await execute_calls(toolkit, [call("convert_length", {"value": 1, "from_unit": "km", "to_unit": "m"})])

        assert contents(run_async(body)) == ["1 km = 1000 m"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_servers_that_cannot_start_are_clear_errors_and_leave_no_process() -> None:
    with pytest.raises(ToolSourceError, match="cannot start"):
        run_async(lambda: mcp("no-such-command-xyz --flag").open())
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]  # never answers the handshake
    started = time.monotonic()
    with pytest.raises(ToolSourceError, match="did not start within 2 s"):
        run_async(lambda: mcp(silent, start_timeout=2).open())
    assert time.monotonic() - started < 30
    assert not [child for child in psutil.Process().children(recursive=True) if "time.sleep(60)" in " ".join(child.cmdline())]
    with pytest.raises(ToolSourceError, match="give a command line"):
        mcp("")


def test_an_unopened_server_is_not_a_toolkit() -> None:
    with pytest.raises(SchemaError, match="is not open"):
        as_toolkit([mcp(SERVER)])

    async def body() -> list[str]:
        async with open_tools([mcp(SERVER)]) as toolkit:
            return toolkit.names

    assert "crash" in run_async(body)
    assert servers_running() == []


def test_results_are_their_text() -> None:
    from mcp_types import CallToolResult, EmbeddedResource, ImageContent, TextContent, TextResourceContents

    from toolwire.agent.mcp_tools import result_text

    result = CallToolResult(content=[TextContent(text="one"), TextContent(text="two"),
                                     ImageContent(data="", mime_type="image/png"),
                                     EmbeddedResource(resource=TextResourceContents(uri="file:///a", text="three"))])
    assert result_text(result) == "one\ntwo\n[image content (image/png) omitted: the model reads text only]\nthree"
    assert result_text(CallToolResult(content=[], structured_content={"a": 1})) == '{"a": 1}'
    assert isinstance(mcp("python x.py"), MCPTools) and mcp("python x.py").argv == ["python", "x.py"]


# -- the agent loop on SmolLM2 -----------------------------------------------------------------


class Recording(LocalBackend):
    """The model in this process, remembering the conversation each turn was given."""

    def __init__(self, model: ChatModel) -> None:
        super().__init__(model)
        self.seen: list[list[dict[str, Any]]] = []

    async def complete(self, messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        self.seen.append([dict(message) for message in messages])
        return await super().complete(messages, **options)


@pytest.fixture(scope="module")
def smollm2() -> Iterator[ChatModel]:
    model = load("smollm2-135m", n_ctx=2048)
    yield model
    model.engine.close()


def named(tool: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": tool}}


@pytest.mark.model
def test_the_model_calls_an_mcp_tool_and_reads_the_answer(smollm2: ChatModel) -> None:
    backend = Recording(smollm2)
    result = run("Convert 10 km to miles.", tools=mcp(SERVER), model=backend, tool_choice=named("convert_length"),
                 max_steps=3, max_tokens=48)
    (request,) = result.messages[1]["tool_calls"]
    assert request["function"]["name"] == "convert_length"
    arguments = json.loads(request["function"]["arguments"])
    jsonschema.validate(arguments, {
        "type": "object", "required": ["value", "from_unit", "to_unit"], "properties": {
            "value": {"type": "number"}, "from_unit": {"enum": ["mm", "cm", "m", "km", "in", "ft", "yd", "mi"]},
            "to_unit": {"enum": ["mm", "cm", "m", "km", "in", "ft", "yd", "mi"]}}})
    answer = result.messages[2]
    assert answer["role"] == "tool" and answer["content"].startswith(f"{arguments['value']:g} {arguments['from_unit']} = ")
    assert backend.seen[1][-1] == answer  # the server's answer is in the model's next turn
    assert 2 <= result.steps <= 3 and result.messages[-1]["role"] == "assistant"
    assert servers_running() == []


@pytest.mark.model
def test_a_server_crash_mid_call_is_reported_to_the_model_and_the_run_goes_on(smollm2: ChatModel) -> None:
    backend = Recording(smollm2)
    result = run("Stop the server now.", tools=mcp(SERVER), model=backend, tool_choice=named("crash"),
                 max_steps=3, max_tokens=32)
    assert result.messages[1]["tool_calls"][0]["function"]["name"] == "crash"
    error = json.loads(result.messages[2]["content"])["error"]
    assert "exited during the call" in error
    assert backend.seen[1][-1] == result.messages[2]  # the model was told
    assert result.messages[3]["role"] == "assistant" and 2 <= result.steps <= 3
    assert servers_running() == []
