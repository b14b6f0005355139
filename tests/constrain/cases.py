"""Replies every dialect test renders with each format: what a grammar must accept, and
schema-invalid calls it must refuse."""

from __future__ import annotations

from typing import Any

from tests.formats.harness import TOOLS, assistant
from toolwire.constrain import ToolCallConstraint
from toolwire.formats.base import Format
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.types import AssistantMessage, ToolChoice

SCHEMAS = {tool.name: normalize_parameters(tool.function.parameters, where=tool.name) for tool in TOOLS}
TEXT = assistant("The weather is fine.")
ONE_CALL = assistant(None, ("get_weather", {"city": "Paris", "unit": "celsius"}))
TWO_CALLS = assistant(None, ("get_weather", {"city": "Paris"}), ("todo.addTodo", {"todo": "buy milk"}))
NO_ARGS = assistant(None, ("get_time", {}))
NESTED = assistant(None, ("book", {"guests": [{"name": "Ann \"A\" ü", "age": 3}], "vip": True, "note": None, "price": 9.5}))
THINKING_CALL = ONE_CALL.model_copy(update={"reasoning_content": "I could write <tool_call> by hand; better call it."})
"""A thinking block that mentions a call trigger, then a call (formats without a thinking
block write the call alone)."""
VALID = {"text": TEXT, "one call": ONE_CALL, "two calls": TWO_CALLS, "no arguments": NO_ARGS, "nested": NESTED,
         "thinking then a call": THINKING_CALL}

INVALID = {
    "wrong type": assistant(None, ("get_weather", {"city": 3})),
    "not a boolean": assistant(None, ("book", {"vip": "yes"})),
    "unknown key": assistant(None, ("get_weather", {"city": "Paris", "country": "FR"})),
    "bad enum": assistant(None, ("get_weather", {"city": "Paris", "unit": "kelvin"})),
    "unknown tool": assistant(None, ("launch_rocket", {})),
}


def invalid(fmt: Format) -> dict[str, AssistantMessage]:
    """The schema-invalid replies of `fmt`. Where string parameters are raw text (tagged
    parameters), `{"city": 3}` is written as the valid `{"city": "3"}`: not invalid there."""
    if fmt.syntax.arguments == "parameters":
        return {label: message for label, message in INVALID.items() if label != "wrong type"}
    return INVALID


def constraint(fmt: Format, choice: ToolChoice = "auto", parallel: bool = True) -> ToolCallConstraint:
    return ToolCallConstraint(syntax=fmt.syntax, tools=TOOLS, schemas=SCHEMAS, tool_choice=choice,
                              parallel_tool_calls=parallel)


def reply(fmt: Format, message: AssistantMessage) -> str:
    return fmt.render_reply(message, TOOLS)


def named(name: str) -> Any:
    from toolwire.types import NamedToolChoice

    return NamedToolChoice(function={"name": name})


def thinking_reply(fmt: Format, *, closed: bool = True) -> str:
    """A reply of a format with a thinking block: thinking that writes the call trigger,
    then one call (`closed` False: the block never ends, so the call is thinking too)."""
    reasoning = fmt.syntax.reasoning
    assert reasoning is not None
    answer = reply(fmt, ONE_CALL)
    if answer.startswith(reasoning.begin):  # the format writes an (empty) block itself
        answer = answer.split(reasoning.end, 1)[1]
    begin = "" if reasoning.opened_by_prompt else reasoning.begin
    thought = f"I could write {fmt.syntax.trigger_text() or reasoning.end} by hand."
    return begin + thought + (reasoning.end + reasoning.separator if closed else " ") + answer


def thinking_formats() -> list[str]:
    """The formats that declare a thinking block."""
    from toolwire.formats import FORMAT_NAMES, get_format

    return [name for name in FORMAT_NAMES if get_format(name).syntax.reasoning is not None]
