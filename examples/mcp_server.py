"""A small MCP server (made with the official `mcp` SDK) for toolwire's agent loop:
unit conversions, a notes list, and two tools for trying failure handling (`wait`
outlasts a timeout, `crash` kills the server mid-call).

    python examples/mcp_server.py                   # stdio, as toolwire.mcp() starts it
    python examples/mcp_server.py --http 8765       # streamable HTTP on 127.0.0.1:8765/mcp

    toolwire chat --mcp "python examples/mcp_server.py" --model smollm2-135m
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("units-and-notes", instructions="Unit conversions and a notes list.")

Length = Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi"]
METRES = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344}
NOTES: list[str] = []


@server.tool()
def convert_length(value: float, from_unit: Length, to_unit: Length) -> str:
    """Convert a length from one unit to another.

    Args:
        value: The length to convert.
        from_unit: The unit it is given in.
        to_unit: The unit to convert it to.
    """
    return f"{value:g} {from_unit} = {value * METRES[from_unit] / METRES[to_unit]:.6g} {to_unit}"


@server.tool()
def convert_temperature(value: float, from_unit: Literal["C", "F", "K"], to_unit: Literal["C", "F", "K"]) -> str:
    """Convert a temperature between Celsius (C), Fahrenheit (F) and Kelvin (K)."""
    celsius = {"C": value, "F": (value - 32) * 5 / 9, "K": value - 273.15}[from_unit]
    result = {"C": celsius, "F": celsius * 9 / 5 + 32, "K": celsius + 273.15}[to_unit]
    return f"{value:g} {from_unit} = {result:.6g} {to_unit}"


@server.tool()
def add_note(text: str) -> str:
    """Add a note to the list."""
    NOTES.append(text)
    return f"noted ({len(NOTES)} notes)"


@server.tool()
def list_notes() -> str:
    """All notes, one per line."""
    return "\n".join(NOTES) or "no notes"


@server.tool()
def wait(seconds: float) -> str:
    """Wait a number of seconds, then answer (to try a client's timeouts)."""
    if seconds < 0:
        raise ToolError("seconds must be 0 or more")  # reported to the client as an isError result
    time.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def crash(reason: str = "asked to") -> str:
    """Stop the server process at once, without answering (to try how a client survives it)."""
    os._exit(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp")
    args = parser.parse_args()
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    main()
