"""Let a model run Python functions: register them (`tool`, `Toolkit`) and loop (`run`).

    todo = Toolkit("todo", description="Plugin for managing a TODO list.")

    @todo.tool
    def addTodo(todo: str) -> dict:
        '''Add a todo to the list.'''
        ...

    result = run("Add milk to my todo list", tools=todo, model="smollm2-135m")
    result.answer, result.messages

    run("Convert 10 km to miles", tools=mcp("python examples/mcp_server.py"))   # an MCP server's tools
"""

from toolwire.agent.backends import Backend, ClientBackend, LocalBackend
from toolwire.agent.loop import RunResult, arun, execute_calls, run
from toolwire.agent.mcp_tools import MCPTools, mcp
from toolwire.agent.registry import ConnectedTools, ToolError, ToolFunction, Toolkit, as_toolkit, open_tools, tool

__all__ = [
    "Backend",
    "ClientBackend",
    "ConnectedTools",
    "LocalBackend",
    "MCPTools",
    "RunResult",
    "ToolError",
    "ToolFunction",
    "Toolkit",
    "arun",
    "as_toolkit",
    "execute_calls",
    "mcp",
    "open_tools",
    "run",
    "tool",
]
