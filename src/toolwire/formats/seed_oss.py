"""Seed-OSS (ByteDance) tool calls: a function with one parameter per argument inside
`<seed:tool_call>`, after a `<seed:think>` block; rendered as Seed-OSS's template does.

Wire text of an assistant turn (after `<seed:bos>assistant\\n`)::

    <seed:think>The user wants the weather.</seed:think>
    Let me check.

    <seed:tool_call>
    <function=get_weather>
    <parameter=city>Paris</parameter>
    </function>
    </seed:tool_call><seed:eos>

String values are raw text, others JSON (`_xml_calls`, typed by the tool's schema). Tools
are described in the system turn as Python signatures with docstrings. Thinking off
(`thinking_budget` 0) adds a system turn saying so and closes an empty thinking block in
the generation prompt. Deliberate differences from the template: `render_reply` and the
grammar write non-string values as JSON, where the template writes Python's `str()` of
them (`True`, `None`, `{'a': 1}`; the parser reads both); a tool whose parameters have no
`required` list renders (the template fails on it).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from toolwire.formats._reasoning import parse_with_reasoning
from toolwire.formats._xml_calls import parse_parameter_calls, render_calls
from toolwire.formats.base import ARGUMENTS, NAME, CallSyntax, Format, ParameterSyntax, ReasoningSyntax, RenderOptions
from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool, message_text

__all__ = ["SeedOssFormat"]

BOS, EOS = "<seed:bos>", "<seed:eos>"
DEFAULT_SYSTEM = "You are Doubao, a helpful AI assistant. You may call one or more functions to assist with the user query."
CALL_INSTRUCTIONS = (
    "\n工具调用请遵循如下格式:\n<seed:tool_call>\n<function=example_function_name>\n"
    "<parameter=example_parameter_1>value_1</parameter>\n<parameter=example_parameter_2>This is the value for the "
    "second parameter\nthat can span\nmultiple lines</parameter>\n</function>\n</seed:tool_call>\n"
)
NO_THINKING_SYSTEM = (
    "You are an intelligent assistant that can answer questions in one step without the need for reasoning and "
    "thinking, that is, your thinking budget is 0. Next, please skip the thinking process and directly start "
    "answering the user's questions.\n"
)
NO_THINKING_PROMPT = (
    "<seed:think>\n<seed:cot_budget_reflect>The current thinking budget is 0, so I will directly start answering "
    "the question.</seed:cot_budget_reflect>\n</seed:think>"
)
PYTHON_TYPES = {"string": "str", "number": "int", "integer": "int", "boolean": "bool", "array": "list"}


def _python_type(schema: Any) -> str:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    return PYTHON_TYPES.get(kind, "Any") if isinstance(kind, str) else "Any"


def _tool_doc(tool: Tool) -> str:
    """A tool as the template describes it: a Python signature and docstring."""
    function = tool.function
    parameters = function.parameters or {}
    properties = parameters.get("properties") or {}
    required = parameters.get("required") or []
    signature = ",".join(f"{name}: {_python_type(spec)}" for name, spec in properties.items())
    args = ""
    if properties:
        args = "    Args:" + "".join(
            f"\n    - {name} ({_python_type(spec)}) {'[必填]' if name in required else '[选填]'}: "
            f"{(spec.get('description') or '') if isinstance(spec, Mapping) else ''}"
            for name, spec in properties.items())
    description = (function.description or "").strip()
    return f'\n\nFunction:\ndef {function.name}({signature}):\n    """\n    {description}\n\n{args}\n\n    """'


def _template_value(value: Any) -> str:
    """An argument as the template writes it: strings raw, anything else as Python's `str()`."""
    return value if isinstance(value, str) else str(value)


class SeedOssFormat(Format):
    name = "seed-oss"
    syntax = CallSyntax(
        call=("<seed:tool_call>\n<function=", NAME, ">\n", ARGUMENTS, "</function>\n</seed:tool_call>"),
        arguments="parameters",
        parameters=ParameterSyntax("<parameter=", ">", "</parameter>\n"),
        separator="\n",
        text_to_calls="\n\n",
        end=EOS,
        stops=(EOS,),
        trigger="<seed:tool_call>",
        reasoning=ReasoningSyntax("<seed:think>", "</seed:think>", separator="\n"),
    )

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        rest = list(messages)
        system = options.system_prompt
        if rest and rest[0].role in ("system", "developer"):
            system = message_text(rest.pop(0).content)
        shown = list(tools) if options.describe_tools else []
        parts: list[str] = []
        if system is not None or shown:
            parts.append(BOS + "system\n" + (system if system is not None else DEFAULT_SYSTEM))
            parts.extend(_tool_doc(tool) for tool in shown)
            parts.append((CALL_INSTRUCTIONS if shown else "") + EOS)
        if options.thinking is False:
            parts.append(BOS + "system\n" + NO_THINKING_SYSTEM + EOS)
        for message in rest:
            if isinstance(message, AssistantMessage):
                parts.append(self._history_turn(message))
            else:
                role = "system" if message.role == "developer" else "tool" if message.role == "function" else message.role
                parts.append(f"{BOS}{role}\n{message_text(message.content)}{EOS}")
        if options.add_generation_prompt:
            parts.append(BOS + "assistant\n" + (NO_THINKING_PROMPT if options.thinking is False else ""))
        return "".join(parts)

    def _history_turn(self, message: AssistantMessage) -> str:
        reasoning = (message.reasoning_content or "").strip()
        content = message_text(message.content).strip()
        text = BOS + "assistant" + (f"\n<seed:think>{reasoning}</seed:think>" if reasoning else "")
        calls = message.calls()
        if not calls:
            return text + (f"\n{content}{EOS}" if content else "")
        text += f"\n{content}\n" if content else ""
        for call in calls:
            arguments = "".join(f"<parameter={key}>{_template_value(value)}</parameter>\n"
                                for key, value in call.parsed_arguments().items())
            text += f"\n<seed:tool_call>\n<function={call.name}>\n{arguments}</function>\n</seed:tool_call>"
        return text + EOS

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        answer = render_calls(message, self.syntax)
        reasoning = message.reasoning_content
        return f"<seed:think>{reasoning.strip()}</seed:think>\n{answer}" if reasoning else answer

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return parse_with_reasoning(
            text, self.syntax.reasoning, partial=partial,
            parse_answer=lambda answer: parse_parameter_calls(answer, self.syntax, tools, partial=partial))
