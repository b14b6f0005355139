"""Python functions as tools: the `tool` decorator and `Toolkit`.

    @tool
    def get_weather(city: str) -> dict:
        '''Current weather in a city.'''

    todo = Toolkit("todo", description="Plugin for managing a TODO list.")

    @todo.tool
    def addTodo(todo: str) -> dict:   # exposed as `todo.addTodo`
        ...

Schemas come from `toolwire.schema.callables.function_definition`. A `ToolFunction`
turns a call's JSON arguments into Python values (pydantic models are constructed from
their JSON objects) and calls the function; running it safely is `loop.py`'s job.

Tools may also live behind a connection (an MCP server, `toolwire.agent.mcp`): such a
`ConnectedTools` source lists its tools as a `Toolkit` once opened; `open_tools` opens
the ones a run is given and closes them after it.
"""

from __future__ import annotations

import inspect
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Protocol, TypeVar, overload, runtime_checkable

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from toolwire.errors import SchemaError
from toolwire.schema.callables import function_definition
from toolwire.types import FunctionDefinition

__all__ = ["ConnectedTools", "ToolError", "ToolFunction", "Toolkit", "ToolSource", "as_toolkit", "open_tools", "tool"]

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__toolwire_tool__"


def _is_async(func: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)
    return not inspect.isroutine(func) and call is not None and inspect.iscoroutinefunction(call)


@dataclass(frozen=True)
class _Parameter:
    name: str
    adapter: TypeAdapter[Any] | None  # None: the value is passed as decoded JSON
    default: Any  # inspect.Parameter.empty when the function has its own default


def _parameters(func: Callable[..., Any], name: str) -> dict[str, _Parameter]:
    try:
        signature = inspect.signature(func, eval_str=True)
    except (NameError, TypeError, ValueError, SyntaxError) as error:
        raise SchemaError(f"{name}: no signature ({error})", param=name) from None
    found: dict[str, _Parameter] = {}
    for position, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if position == 0 and param.name in ("self", "cls"):
            continue
        annotation = param.annotation
        adapter = None if annotation in (param.empty, Any) else TypeAdapter(annotation)
        # `x: int = Field(3, description=...)`: Python would pass the FieldInfo itself.
        default = param.default.get_default(call_default_factory=True) if isinstance(param.default, FieldInfo) else param.empty
        found[param.name] = _Parameter(param.name, adapter, default)
    return found


class ToolError(Exception):
    """Raised by a tool to tell the model what went wrong: the loop reports the message as
    the call's result, `{"error": message}`, without the exception's type."""


class ToolFunction:
    """A registered function: its public `name`, OpenAI `definition`, and how to call it.
    `returns_text`: the function returns the tool message's text itself (else its value
    is sent as JSON)."""

    returns_text = False

    def __init__(self, func: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> None:
        self.func = func
        self.definition: FunctionDefinition = function_definition(func, name=name, description=description)
        self.is_async = _is_async(func)
        self._parameters: dict[str, _Parameter] | None = _parameters(func, self.definition.name)

    @classmethod
    def from_definition(cls, definition: FunctionDefinition, call: Callable[..., Awaitable[str]]) -> ToolFunction:
        """A tool defined by its schema rather than a Python signature (an MCP server's):
        `await call(**arguments)` gets the schema-valid JSON arguments as they are and
        returns the tool message's text."""
        entry = cls.__new__(cls)
        entry.func = call
        entry.definition = definition
        entry.is_async = True
        entry.returns_text = True
        entry._parameters = None
        return entry

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON Schema of the arguments object."""
        return self.definition.parameters or {"type": "object", "properties": {}}

    def renamed(self, name: str) -> ToolFunction:
        """The same function under another public name (e.g. `todo.addTodo`)."""
        if self._parameters is None:
            return ToolFunction.from_definition(self.definition.model_copy(update={"name": name}), self.func)
        return ToolFunction(self.func, name=name, description=self.definition.description)

    def schema(self) -> dict[str, Any]:
        """The OpenAI tool object: `{"type": "function", "function": {...}}`."""
        return {"type": "function", "function": self.definition.model_dump(exclude_none=True)}

    def bind(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the function from schema-valid JSON arguments: values are
        converted to the parameters' types (a pydantic model from its object). Raises
        ValueError naming the parameter when a value does not convert."""
        if self._parameters is None:
            return dict(arguments)
        kwargs: dict[str, Any] = {}
        for key, value in arguments.items():
            param = self._parameters.get(key)
            if param is None:
                raise ValueError(f"unexpected argument {key!r}")
            try:
                kwargs[key] = param.adapter.validate_python(value) if param.adapter else value
            except ValidationError as error:
                first = error.errors()[0]
                raise ValueError(f"{key}: {first['msg']}") from None
        for key, param in self._parameters.items():
            if key not in kwargs and param.default is not inspect.Parameter.empty:
                kwargs[key] = param.default
        return kwargs

    def __repr__(self) -> str:
        return f"ToolFunction({self.name!r})"


def _mark(func: F, name: str | None, description: str | None) -> F:
    setattr(func, _MARK, ToolFunction(func, name=name, description=description))
    return func


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...
def tool(
    func: F | None = None, /, *, name: str | None = None, description: str | None = None
) -> F | Callable[[F], F]:
    """Mark a function (sync or async) as a tool; usable bare (`@tool`) or with `name=` /
    `description=`. The function is returned unchanged and still callable; its schema is
    derived now, so a bad signature fails at import time."""
    if func is not None:
        return _mark(func, name, description)
    return lambda inner: _mark(inner, name, description)


def tool_function(func: Callable[..., Any]) -> ToolFunction:
    """The `ToolFunction` of a function: the one `@tool` attached, else a new one."""
    marked = getattr(func, _MARK, None)
    return marked if isinstance(marked, ToolFunction) else ToolFunction(func)


class Toolkit:
    """A set of tools, optionally in a namespace: `Toolkit("todo", description=...)` names
    its tools `todo.<name>` and describes the namespace for TypeScript-namespace formats."""

    def __init__(self, namespace: str | None = None, description: str | None = None) -> None:
        if namespace is not None and (not namespace or "." in namespace or not namespace.isidentifier()):
            raise SchemaError(f"namespace: {namespace!r} is not an identifier", param="namespace")
        self.namespace = namespace
        self.description = description
        self._tools: dict[str, ToolFunction] = {}
        self._namespaces: dict[str, str] = {}
        if namespace and description:
            self._namespaces[namespace] = description

    def add(self, func: Callable[..., Any] | ToolFunction, *, name: str | None = None,
            description: str | None = None) -> ToolFunction:
        """Register `func` (plain, `@tool`-marked, or a ready `ToolFunction`); returns its
        `ToolFunction`. Raises SchemaError if the name is already taken."""
        if isinstance(func, ToolFunction):
            base = func
        elif name is not None or description is not None:
            base = ToolFunction(func, name=name, description=description)
        else:
            base = tool_function(func)
        entry = base.renamed(f"{self.namespace}.{base.name}") if self.namespace else base
        self._put(entry)
        return entry

    def _put(self, entry: ToolFunction) -> None:
        if entry.name in self._tools:
            raise SchemaError(f"tools: {entry.name!r} is registered twice", param="tools")
        self._tools[entry.name] = entry

    @overload
    def tool(self, func: F, /) -> F: ...
    @overload
    def tool(self, *, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...
    def tool(
        self, func: F | None = None, /, *, name: str | None = None, description: str | None = None
    ) -> F | Callable[[F], F]:
        """Decorator registering a function in this toolkit; returns it unchanged."""

        def register(inner: F) -> F:
            self.add(inner, name=name, description=description)
            return inner

        return register(func) if func is not None else register

    def extend(self, other: Toolkit) -> None:
        """Add every tool (under its full name) and namespace description of `other`."""
        for entry in other:
            self._put(entry)
        self._namespaces.update(other.namespaces)

    @property
    def namespaces(self) -> dict[str, str]:
        """Namespace descriptions, `{"todo": "Plugin for managing a TODO list."}`."""
        return dict(self._namespaces)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> ToolFunction | None:
        return self._tools.get(name)

    def schemas(self) -> list[dict[str, Any]]:
        """The OpenAI `tools` list."""
        return [entry.schema() for entry in self._tools.values()]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[ToolFunction]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"Toolkit(namespace={self.namespace!r}, tools={self.names!r})"


@runtime_checkable
class ConnectedTools(Protocol):
    """Tools behind a connection (an MCP server). `open()` connects and returns its tools
    as a Toolkit (the same one again while open); `close()` disconnects."""

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> Toolkit: ...

    async def close(self) -> None: ...


ToolSource = Toolkit | ConnectedTools | Callable[..., Any] | Iterable[Toolkit | ConnectedTools | Callable[..., Any]]
"""What `run(tools=...)` accepts: a toolkit, a connected source (`toolwire.mcp(...)`), a
function, or a list mixing them."""


def _items(tools: ToolSource | None) -> list[Any]:
    if tools is None:
        return []
    if isinstance(tools, (Toolkit, ConnectedTools)) or callable(tools):
        return [tools]
    return list(tools)


def as_toolkit(tools: ToolSource | None) -> Toolkit:
    """One toolkit holding every tool given (toolkits are merged, functions added). A
    connected source must be open (see `open_tools`)."""
    if isinstance(tools, Toolkit):
        return tools
    merged = Toolkit()
    for item in _items(tools):
        if isinstance(item, Toolkit):
            merged.extend(item)
        elif isinstance(item, ConnectedTools):
            raise SchemaError(f"tools: {item!r} is not open; pass it to run() or open it with `async with`",
                              param="tools")
        elif callable(item):
            merged.add(item)
        else:
            raise SchemaError(f"tools: {item!r} is neither a function nor a Toolkit", param="tools")
    return merged


@asynccontextmanager
async def open_tools(tools: ToolSource | None) -> AsyncIterator[Toolkit]:
    """Every tool given, as one Toolkit, for the duration of the block: connected sources
    that are not open yet are opened for it and closed after it (open ones stay open)."""
    async with AsyncExitStack() as stack:
        resolved: list[Any] = []
        for item in _items(tools):
            if isinstance(item, ConnectedTools):
                if not item.is_open:
                    stack.push_async_callback(item.close)
                resolved.append(await item.open())
            else:
                resolved.append(item)
        yield as_toolkit(resolved)
