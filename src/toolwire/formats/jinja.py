"""`jinja`: prompts rendered by the model's own chat template; output read by the parser
its template implies.

A GGUF model ships a Jinja chat template (`toolwire.gguf.chat_template`). `JinjaFormat`
renders prompts with it, as Hugging Face's `apply_chat_template` does, and hands the
model's output to the format whose wire text the template teaches: `detect_format`
sniffs the template text for that format's markers, e.g. Qwen2.5's template writes
calls as::

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

so its output is parsed by `hermes`. Templates are untrusted: they render in the sandbox of
`formats/sandbox.py`.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence, Union

from toolwire.errors import TemplateError
from toolwire.formats.base import Format, RenderOptions
from toolwire.formats.registry import get_format
from toolwire.formats.sandbox import ChatTemplate
from toolwire.types import AssistantMessage, Message, ParsedMessage, SystemMessage, Tool

__all__ = ["DETECTION_ORDER", "JinjaFormat", "detect_format", "thinking_variables"]

Marker = Union[str, tuple[str, ...]]
"""Text a template contains; a tuple: texts it contains all of."""

DETECTION_ORDER: tuple[tuple[str, tuple[Marker, ...]], ...] = (
    ("functionary-v2", ("<|recipient|>",)),
    ("functionary-v3.2", (">>>all", ">>>${recipient}")),
    ("functionary-v3.1", ("start_tag => `<function`", "{start_tag}={function_name}")),
    ("kimi-k2", ("<|tool_calls_section_begin|>", "<|tool_call_begin|>")),
    ("mistral-v11", ("[CALL_ID]",)),
    ("magistral", ("[ARGS]", "[THINK]")),
    ("mistral", ("[TOOL_CALLS]",)),
    ("harmony", ("<|channel|>",)),
    ("seed-oss", ("<seed:tool_call>",)),
    ("minimax-m2", ("<minimax:tool_call>",)),
    ("qwen3-coder", ("<parameter=",)),
    ("glm-4.7", ("</arg_key><arg_value>",)),
    ("glm-4.5", ("<arg_key>",)),
    ("deepseek-r1", (("<｜tool▁calls▁begin｜>", "```json"),)),
    ("deepseek-v3.1", ("<｜tool▁calls▁begin｜>",)),
    ("nemotron", ("<TOOLCALL>",)),
    ("granite-3", (("<|tool_call|>", "<|start_of_role|>"),)),
    ("granite-4", (("<tool_call>", "<|start_of_role|>"),)),
    ("smollm3", ("Reasoning Mode: ",)),
    ("qwen3", (("<tool_call>", "</think>"),)),
    ("command-r7b", ("<|START_ACTION|>",)),
    ("apertus", ("<|tools_prefix|>",)),
    ("gemma-4", ("<|tool_call>",)),
    ("functiongemma", ("<start_function_call>",)),
    ("phi-4-mini", ("functools[",)),
    ("hermes", ("<tool_call>",)),
    ("lfm2", ("<|tool_call_start|>", "<|tool_list_start|>")),
    ("llama4-pythonic", ("[func_name1(param1=value1",)),
    ("pythonic", ("[func_name1(",)),
    ("llama3-json", ("<|python_tag|>", '"parameters": ', '\\"parameters\\": ')),
)
"""(format, markers) in the order `detect_format` tries them; the first format with a
marker in the template wins. Specific markers come first: functionary v3.1 templates also
write Llama's `<|python_tag|>`, Mistral v11 templates `[TOOL_CALLS]` (`[CALL_ID]` before
`[ARGS]`: Small 3.2 writes both); GLM, Granite 4 and Qwen3 templates also write
`<tool_call>`, so they are tried before `hermes`; Qwen3-Coder's `<parameter=` before GLM;
DeepSeek-R1's fenced arguments before DeepSeek-V3.1; pythonic Llama templates also contain
Llama's headers, so `pythonic` is tried before `llama3-json`, whose markers are
`<|python_tag|>` or Llama 3.1's `{"name": function name, "parameters": ...}` wording.
SmolLM3's template shows no call syntax; its model writes `hermes` calls after a `<think>`
block, and its template says `Reasoning Mode: `."""


def _contains(template: str, marker: Marker) -> bool:
    return all(text in template for text in ((marker,) if isinstance(marker, str) else marker))


def detect_format(template: str) -> str | None:
    """The name of the format whose output `template` teaches the model to write, or None
    when the template shows no tool-call syntax (e.g. SmolLM2's plain ChatML). See
    `DETECTION_ORDER`."""
    for name, markers in DETECTION_ORDER:
        if any(_contains(template, marker) for marker in markers):
            return name
    return None


def thinking_variables(options: RenderOptions) -> dict[str, Any]:
    """The template variables for `options.thinking` and `options.reasoning_effort`: the
    names reasoning templates read (Qwen3, Gemma 4, Apertus: `enable_thinking`; DeepSeek
    V3.1: `thinking`; gpt-oss: `reasoning_effort`). None are set for the template's
    default."""
    variables: dict[str, Any] = {}
    if options.thinking is not None:
        variables["enable_thinking"] = variables["thinking"] = options.thinking
    if options.reasoning_effort is not None:
        variables["reasoning_effort"] = options.reasoning_effort
    return variables


class JinjaFormat(Format):
    """Prompts from the model's chat template; output parsed by the format the template
    implies (`detect_format`) or by `parser`, which also provides `syntax` and
    `render_reply`. Raises `TemplateError` for a template that does not compile, or that
    shows no tool-call syntax when no `parser` is given."""

    name = "jinja"

    def __init__(
        self, template: str, *, parser: str | None = None, bos_token: str = "", eos_token: str = "",
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = ChatTemplate(template, bos_token=bos_token, eos_token=eos_token, variables=variables)
        parser = parser or detect_format(template)
        if parser is None:
            raise TemplateError("template has no tool-call syntax; pass parser=... (e.g. 'generic')")
        self.parser_name = parser
        self.parser: Format = get_format(parser)
        self.syntax = self.parser.syntax

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        listed = list(messages)
        if options.system_prompt and not (listed and listed[0].role in ("system", "developer")):
            listed.insert(0, SystemMessage(content=options.system_prompt))
        shown = tools if options.describe_tools else ()
        return self.template.render(
            listed, shown, add_generation_prompt=options.add_generation_prompt,
            variables=thinking_variables(options), adapt=self.parser.template_input,
        )

    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        return self.parser.render_reply(message, tools)

    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        return self.parser.parse(text, partial=partial, tools=tools)

    def new_call_id(self) -> str:
        return self.parser.new_call_id()

    def for_prompt(self, prompt: str) -> Format:
        parser = self.parser.for_prompt(prompt)
        if parser is self.parser:
            return self
        continued = copy.copy(self)
        continued.parser = parser
        continued.syntax = parser.syntax
        return continued


def thinking_variables(options: RenderOptions) -> dict[str, Any]:
    """The template variables that carry `options.thinking` and `options.reasoning_effort`,
    under the names the families' templates read: `enable_thinking` (Qwen3, GLM, SmolLM3),
    `thinking` (DeepSeek-V3.1, Granite 3.3), `thinking_budget` 0 for no thinking
    (Seed-OSS) and `reasoning_effort` (gpt-oss). Unset options set nothing, so each
    template keeps its own default."""
    variables: dict[str, Any] = {}
    if options.thinking is not None:
        variables["enable_thinking"] = variables["thinking"] = options.thinking
        if not options.thinking:
            variables["thinking_budget"] = 0
    if options.reasoning_effort is not None:
        variables["reasoning_effort"] = options.reasoning_effort
    return variables
