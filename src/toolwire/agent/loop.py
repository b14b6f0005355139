"""The agent loop: ask the model, run the tools it calls, hand back the results, repeat.

Only registered functions ever run, and only with arguments that validate against their
schema (after `coerce_arguments` fixes near-misses such as `"3"` for an integer). Every
failure (unknown tool, bad arguments, a declined confirmation, an exception, a timeout)
becomes a tool message `{"error": "..."}` so the model can recover; the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import secrets
import string
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, Union

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from toolwire.agent.backends import resolve_backend
from toolwire.agent.registry import ToolError, ToolFunction, Toolkit, ToolSource, open_tools
from toolwire.errors import RequestError
from toolwire.schema.jsonschema import coerce_arguments, validate_arguments

__all__ = ["Confirm", "RunResult", "arun", "execute_calls", "result_json", "run"]

Confirm = Callable[[dict[str, Any]], Union[bool, Awaitable[bool]]]
"""`confirm(call)`: given the OpenAI tool call dict, True lets it run."""

OnMessage = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """The transcript (the input messages, then every assistant and tool message), the
    final text answer (None when `max_steps` ran out first) and the number of model turns."""

    messages: list[dict[str, Any]]
    answer: str | None
    steps: int

    def lines(self) -> list[str]:
        """The run as plain text: each call, each result, then the answer."""
        lines = []
        for message in self.messages:
            for call in message.get("tool_calls") or []:
                lines.append(f"call   {call['function']['name']}({call['function']['arguments']})")
            if message["role"] == "tool":
                lines.append(f"result {message['content']}")
        return lines + [f"answer {self.answer}"]


def result_json(value: Any) -> str:
    """A tool's return value as JSON text (pydantic models, dataclasses, enums, dates and
    sets are converted; anything else unserialisable becomes its `str`)."""
    return json.dumps(to_jsonable_python(value, fallback=str), ensure_ascii=False)


def _error(text: str) -> str:
    return json.dumps({"error": text}, ensure_ascii=False)


def _prepare(toolkit: Toolkit, call: dict[str, Any]) -> tuple[ToolFunction, dict[str, Any]] | str:
    """The tool and its keyword arguments, or why the call cannot run."""
    function = call.get("function") or {}
    name = function.get("name")
    entry = toolkit.get(name) if isinstance(name, str) else None
    if entry is None:
        return f"unknown tool {name!r}; available tools: {', '.join(toolkit.names) or 'none'}"
    raw = function.get("arguments")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) and raw.strip() else (raw or {})
    except json.JSONDecodeError as error:
        return f"invalid arguments for {name}: not valid JSON ({error.msg})"
    if not isinstance(arguments, dict):
        return f"invalid arguments for {name}: must be a JSON object"
    arguments = coerce_arguments(arguments, entry.parameters)
    problems = validate_arguments(arguments, entry.parameters)
    if problems:
        return f"invalid arguments for {name}: " + "; ".join(problems)
    try:
        return entry, entry.bind(arguments)
    except ValueError as error:
        return f"invalid arguments for {name}: {error}"


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # timed out and cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _in_thread(func: Callable[..., Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
    """Run a sync function in a daemon thread of its own: a call that hangs past its
    timeout is abandoned without keeping the loop (or the interpreter) from exiting."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            result, error = context.run(func, **kwargs), None
        except Exception as exc:  # reported to the model, never raised in the loop
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:  # the event loop is gone: nobody waits for this result
            pass

    threading.Thread(target=target, name=f"toolwire-tool-{getattr(func, '__name__', 'call')}", daemon=True).start()
    return future


async def _invoke(entry: ToolFunction, kwargs: dict[str, Any], timeout: float | None) -> str:
    """Run one validated call; the tool message content."""

    async def call() -> tuple[Any, Exception | None]:
        try:
            if entry.is_async:
                result = await entry.func(**kwargs)
            else:
                result = await _in_thread(entry.func, kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result, None
        except Exception as exc:
            return None, exc

    try:
        result, error = await asyncio.wait_for(call(), timeout)
    except asyncio.TimeoutError:
        return _error(f"TimeoutError: {entry.name} did not finish within {timeout:g} s")
    if isinstance(error, ToolError):
        return _error(str(error))
    if error is not None:
        return _error(f"{type(error).__name__}: {error}")
    if entry.returns_text:
        return result if isinstance(result, str) else _error(f"{entry.name} returned {type(result).__name__}, not text")
    try:
        return result_json(result)
    except (TypeError, ValueError) as exc:
        return _error(f"{entry.name} returned a value that is not JSON: {exc}")


async def _confirmed(confirm: Confirm | None, call: dict[str, Any]) -> bool:
    if confirm is None:
        return True
    answer = confirm(call)
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)


async def execute_calls(
    toolkit: Toolkit,
    calls: Sequence[dict[str, Any]],
    *,
    confirm: Confirm | None = None,
    timeout: float | None = 30.0,
) -> list[dict[str, Any]]:
    """Run one assistant turn's tool calls; their tool messages, in call order.

    Calls are checked and confirmed one by one (so confirmation prompts never overlap),
    then the approved ones run, each under `timeout` seconds: async functions concurrently
    on the loop; sync functions in worker threads, one after another in the order the
    model wrote them (`add` then `remove` must not race), alongside the async ones."""
    contents: list[str | None] = []
    concurrent: dict[int, Awaitable[str]] = {}
    in_order: list[tuple[int, ToolFunction, dict[str, Any]]] = []
    for index, call in enumerate(calls):
        prepared = _prepare(toolkit, call)
        if isinstance(prepared, str):
            contents.append(_error(prepared))
        elif not await _confirmed(confirm, call):
            contents.append(_error("declined by user"))
        else:
            contents.append(None)
            entry, kwargs = prepared
            if entry.is_async:
                concurrent[index] = _invoke(entry, kwargs, timeout)
            else:
                in_order.append((index, entry, kwargs))

    async def sync_chain() -> None:
        for index, entry, kwargs in in_order:
            contents[index] = await _invoke(entry, kwargs, timeout)

    *results, _ = await asyncio.gather(*concurrent.values(), sync_chain())
    for index, content in zip(concurrent, results):
        contents[index] = content
    return [
        {"role": "tool", "tool_call_id": call.get("id"), "name": (call.get("function") or {}).get("name"), "content": content}
        for call, content in zip(calls, contents)
    ]


_ID_CHARS = string.ascii_letters + string.digits


def _assistant_message(reply: dict[str, Any]) -> dict[str, Any]:
    """The transcript's copy of a reply: role, content, and tool calls (each with an id)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    calls = []
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        calls.append(
            {
                "id": call.get("id") or "call_" + "".join(secrets.choice(_ID_CHARS) for _ in range(24)),
                "type": "function",
                "function": {"name": function.get("name"), "arguments": function.get("arguments") or "{}"},
            }
        )
    if calls:
        message["tool_calls"] = calls
    return message


def _initial_messages(messages_or_prompt: str | Sequence[Any]) -> list[dict[str, Any]]:
    if isinstance(messages_or_prompt, str):
        return [{"role": "user", "content": messages_or_prompt}]
    messages = []
    for message in messages_or_prompt:
        if isinstance(message, BaseModel):
            messages.append(message.model_dump(exclude_none=True))
        elif isinstance(message, dict):
            messages.append(dict(message))
        else:
            raise RequestError(f"messages: {message!r} is not a message", param="messages")
    if not messages:
        raise RequestError("messages: at least one message is needed", param="messages")
    return messages


async def arun(
    messages_or_prompt: str | Sequence[Any],
    *,
    tools: ToolSource,
    model: Any = None,
    client: Any = None,
    base_url: str | None = None,
    max_steps: int = 8,
    tool_choice: Any = None,
    confirm: Confirm | None = None,
    timeout: float | None = 30.0,
    on_message: OnMessage | None = None,
    **chat_options: Any,
) -> RunResult:
    """`run`, as a coroutine."""
    if max_steps < 1:
        raise RequestError("max_steps: must be at least 1", param="max_steps")
    messages = _initial_messages(messages_or_prompt)
    async with open_tools(tools) as toolkit:
        backend = resolve_backend(model=model, client=client, base_url=base_url)
        schemas = toolkit.schemas()
        choice = tool_choice if schemas else None
        for step in range(1, max_steps + 1):
            reply = await backend.complete(
                messages, tools=schemas, tool_choice=choice, namespaces=toolkit.namespaces, options=chat_options
            )
            message = _assistant_message(reply)
            messages.append(message)
            if on_message:
                on_message(message)
            if "tool_calls" not in message:
                return RunResult(messages, message.get("content") or "", step)
            for result in await execute_calls(toolkit, message["tool_calls"], confirm=confirm, timeout=timeout):
                messages.append(result)
                if on_message:
                    on_message(result)
            choice = "auto" if schemas else None
    return RunResult(messages, None, max_steps)

def run(
    messages_or_prompt: str | Sequence[Any],
    *,
    tools: ToolSource,
    model: Any = None,
    client: Any = None,
    base_url: str | None = None,
    max_steps: int = 8,
    tool_choice: Any = None,
    confirm: Confirm | None = None,
    timeout: float | None = 30.0,
    on_message: OnMessage | None = None,
    **chat_options: Any,
) -> RunResult:
    """Let the model use `tools` until it answers in text or `max_steps` turns pass.

    `messages_or_prompt`: a user prompt, or OpenAI messages (dicts or `toolwire.types`).
    `tools`: a Toolkit, functions, MCP servers (`toolwire.mcp(...)`), or a list of them;
    an MCP server not opened yet is started for this run and stopped after it. The model is `model` (None: the
    default model; a name or .gguf path; or a loaded model) in-process, or an OpenAI-
    compatible endpoint (`client`, an `openai.OpenAI`/`AsyncOpenAI`, or `base_url`).
    `tool_choice` applies to the first turn only, later turns use "auto". `confirm(call)`
    may veto each call; `timeout` bounds each call in seconds; `on_message` sees each
    assistant and tool message as it is added. Other keywords (`temperature`, `seed`,
    `max_tokens`, ...) go to every chat request. Cannot be called from a running event
    loop: use `arun` there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(
            arun(
                messages_or_prompt,
                tools=tools,
                model=model,
                client=client,
                base_url=base_url,
                max_steps=max_steps,
                tool_choice=tool_choice,
                confirm=confirm,
                timeout=timeout,
                on_message=on_message,
                **chat_options,
            )
        )
    raise RuntimeError("toolwire.run() cannot be called from a running event loop; use `await toolwire.arun(...)`")
