"""The contract every wire format meets, and the declarative call syntax it hands to the
constraint layer.

A format knows three things and nothing else knows them:
  * how `messages` + `tools` are written into a prompt (`render`, ending with the
    generation prompt) and how one assistant turn is written (`render_reply`);
  * how the model's output reads back into content and calls (`parse`, which is pure:
    text so far -> `ParsedMessage`; streaming diffs successive parses, see `streaming.py`);
  * the shape of its tool calls (`syntax`, a `CallSyntax`), from which `constrain.py`
    builds the grammar without knowing which format it serves.
"""

from __future__ import annotations

import copy
import secrets
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, ClassVar, Literal, Mapping, Sequence

from toolwire.types import AssistantMessage, Message, ParsedMessage, Tool

__all__ = [
    "ARGUMENTS",
    "CALL_ID",
    "INDEX",
    "NAME",
    "ArgumentStyle",
    "CallSyntax",
    "Format",
    "ParameterSyntax",
    "ReasoningSyntax",
    "RenderOptions",
    "Slot",
    "ValueKind",
    "random_call_id",
]


class Slot(Enum):
    """A hole in a call template: the tool's name, its arguments, the call's position in
    the turn (decimal, from 0: Kimi-K2's `functions.NAME:0`), or the id the model gives the
    call (`CallSyntax.call_id_length` of its `call_id_characters`: Mistral Small 3.2's
    `[CALL_ID]a1B2c3D4e`)."""

    NAME = "name"
    ARGUMENTS = "arguments"
    INDEX = "index"
    CALL_ID = "call_id"


NAME = Slot.NAME
ARGUMENTS = Slot.ARGUMENTS
INDEX = Slot.INDEX
CALL_ID = Slot.CALL_ID

ArgumentStyle = Literal["json", "python-kwargs", "js-args", "parameters", "gemma"]
"""How a call's arguments are written:
- `json`: one JSON object;
- `python-kwargs`: `key=value` pairs with Python literals (`True`, `None`);
- `js-args`: one JSON object, or positional JSON values in schema property order;
- `parameters`: one tagged parameter per argument, as `CallSyntax.parameters` says;
- `gemma`: Gemma's object syntax `{key:value,...}`: bare keys in sorted order, strings
  between two `CallSyntax.string_delimiter`s and never escaped, other values as in JSON
  (`{city:<|"|>Paris<|"|>,days:3}`)."""


ValueKind = Literal["text", "text-or-null", "json"]


@dataclass(frozen=True)
class ParameterSyntax:
    """Arguments written one parameter at a time instead of as one JSON object (Qwen3-Coder,
    GLM, MiniMax, Seed-OSS): each argument is `begin KEY key_end VALUE end`, in the order
    the model chooses. A value is typed by the tool's schema: string parameters are raw
    text (written as is, never quoted or escaped), others are JSON. Whitespace in
    `key_end` after its last tag and in `end` before its first tag belongs to the format,
    not to the value (Qwen3-Coder: `<parameter=city>\nParis\n</parameter>`)."""

    begin: str
    key_end: str
    end: str

    @staticmethod
    def value_kind(schema: Any) -> ValueKind:
        """How a parameter of `schema` is written: `text` (a string: raw text),
        `text-or-null` (a nullable string: raw text, or `null`/`None` for null) or `json`
        (anything else, and parameters the schema does not type as strings)."""
        if not isinstance(schema, Mapping):
            return "json"
        options = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(options, list):
            kinds = [ParameterSyntax.value_kind(option) for option in options
                     if not (isinstance(option, Mapping) and option.get("type") == "null")]
            if kinds and all(kind == "text" for kind in kinds):
                return "text-or-null" if len(kinds) < len(options) else "text"
            return "json"
        types = schema.get("type")
        types = set(types) if isinstance(types, list) else {types}
        if types == {"string"}:
            return "text"
        if types == {"string", "null"}:
            return "text-or-null"
        values = schema["enum"] if isinstance(schema.get("enum"), list) else [schema["const"]] if "const" in schema else []
        if types == {None} and values and all(isinstance(value, str) for value in values):
            return "text"
        return "json"


@dataclass(frozen=True)
class ReasoningSyntax:
    """A thinking block the model writes before its answer: `begin` TEXT `end`.

    `opened_by_prompt`: the generation prompt already wrote `begin` (Qwen3 and DeepSeek-R1
    templates with thinking on), so the model's output starts inside the block.
    `separator`: what the model writes between `end` and its answer (Qwen3: `\n\n`)."""

    begin: str
    end: str
    opened_by_prompt: bool = False
    separator: str = ""

    def left_open_by(self, prompt: str) -> bool:
        """Whether `prompt` ends inside this block: its generation prompt wrote `begin`
        (GLM-4.7's `<|assistant|><think>`, DeepSeek-R1's `<think>\n`), so the model's
        output starts with its thinking."""
        return bool(self.begin.strip()) and prompt.rstrip().endswith(self.begin.strip())


@dataclass(frozen=True)
class CallSyntax:
    """The shape of a format's output, as data. Literal pieces may contain special tokens
    (`<tool_call>`, `[TOOL_CALLS]`); the constraint layer emits those as tokens.

    Output is either a text reply, or a block of calls, or (when `text_before_calls`)
    text followed by a block of calls:

        text reply:  text_prefix TEXT text_suffix
        call block:  calls_begin CALL (separator CALL)* calls_end
        both:        text_prefix TEXT text_to_calls calls_begin CALL ... calls_end

    then `end` (the end-of-turn marker the model writes, if the format has one).
    With `reasoning`, either may be preceded by the format's thinking block.
    `trigger` is the shortest text of the lead-in that commits to a call (hermes:
    `<tool_call>`); text before it in the lead-in counts as free text.
    `call` is a template of literal strings and `Slot`s, e.g. hermes:
    `("<tool_call>\\n{\\"name\\": \\"", NAME, "\\", \\"arguments\\": ", ARGUMENTS, "}\\n</tool_call>")`.
    With `arguments` "parameters", ARGUMENTS is written as `parameters` says.
    `call_id_characters`, `call_id_length`: an id in the `CALL_ID` slot is that many of
    those characters (Mistral: 9 alphanumerics);
    `string_delimiter`: what opens and closes a string in `gemma` arguments (`<escape>`).
    """

    call: tuple[str | Slot, ...]
    arguments: ArgumentStyle = "json"
    separator: str = "\n"
    calls_begin: str = ""
    calls_end: str = ""
    text_prefix: str = ""
    text_suffix: str = ""
    text_to_calls: str = ""
    text_before_calls: bool = True
    text_is_json_string: bool = False
    end: str = ""
    stops: tuple[str, ...] = ()
    trigger: str = ""
    reasoning: ReasoningSyntax | None = None
    parameters: ParameterSyntax | None = None
    call_id_characters: str = ""
    call_id_length: int = 0
    string_delimiter: str = ""

    def lead_in(self) -> str:
        """Everything written between text and the first call's name: `text_to_calls`,
        `calls_begin` and the call template's first literal."""
        first = self.call[0]
        return self.text_to_calls + self.calls_begin + (first if isinstance(first, str) else "")

    def trigger_text(self) -> str:
        """The text whose appearance switches free text to calls in `auto` mode: `trigger`
        when given (e.g. hermes' `<tool_call>`), else the whole lead-in."""
        return self.trigger or self.lead_in()


@dataclass(frozen=True)
class RenderOptions:
    """Choices a caller makes about the prompt.

    `describe_tools`: write the tools into the prompt (False for tool_choice `none` when the
    caller wants them hidden). `add_generation_prompt`: end with the text that starts the
    assistant's turn. `system_prompt`: a default system prompt used when the conversation
    has none (formats may also have their own default). `namespaces`: descriptions of tool
    namespaces (`{"todo": "Plugin for managing a TODO list"}`) for formats that group tools
    into TypeScript namespaces; a tool `todo.addTodo` belongs to namespace `todo`.
    `thinking`: turn a reasoning model's thinking on or off (None: the template's default;
    templates read it as `enable_thinking` / `thinking`); `reasoning_effort`: `low`,
    `medium` or `high` for templates that take it (gpt-oss)."""

    add_generation_prompt: bool = True
    describe_tools: bool = True
    system_prompt: str | None = None
    namespaces: Mapping[str, str] = field(default_factory=dict)
    thinking: bool | None = None
    reasoning_effort: str | None = None


_ALNUM = string.ascii_letters + string.digits


def random_call_id(prefix: str = "call_", length: int = 24) -> str:
    """A random call id: `call_` + 24 alphanumerics (OpenAI's shape)."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


class Format(ABC):
    """A wire format. Subclasses are small: a docstring that shows the wire text, a
    `syntax`, `render`, `render_reply` and `parse`."""

    name: ClassVar[str]
    syntax: CallSyntax

    @abstractmethod
    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        options: RenderOptions = RenderOptions(),
    ) -> str:
        """The prompt for `messages` with `tools` described, ending with the generation
        prompt when `options.add_generation_prompt`."""

    @abstractmethod
    def render_reply(self, message: AssistantMessage, tools: Sequence[Tool] = ()) -> str:
        """Exactly what the model writes for this assistant turn after the generation
        prompt, without the end-of-turn marker (`syntax.end`)."""

    @abstractmethod
    def parse(self, text: str, *, partial: bool = False, tools: Sequence[Tool] = ()) -> ParsedMessage:
        """Read model output (text after the generation prompt) back into content and calls.

        Pure. With `partial`, `text` may stop anywhere: text that may still become part of
        a call (a possible trigger prefix) is held back, a call appears only once its full
        name is known, and its `arguments` is a prefix of the final arguments text. With
        `partial` False, anything that does not parse as a call is returned as content:
        nothing is lost."""

    def new_call_id(self) -> str:
        """A fresh id for a call this format's model made."""
        return random_call_id()

    def for_prompt(self, prompt: str) -> "Format":
        """This format reading the output that continues `prompt`: a copy whose
        `syntax.reasoning.opened_by_prompt` says whether the prompt left the thinking block
        open (see `ReasoningSyntax.left_open_by`), so that the parser and the grammar start
        inside it; `self` when that is already so."""
        reasoning = self.syntax.reasoning
        if reasoning is None or reasoning.left_open_by(prompt) == reasoning.opened_by_prompt:
            return self
        continued = copy.copy(self)
        continued.syntax = replace(self.syntax, reasoning=replace(reasoning, opened_by_prompt=not reasoning.opened_by_prompt))
        return continued

    def template_input(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The messages and tools (HF-style dicts, see `sandbox.py`) as this family's chat
        templates read them, for `JinjaFormat`; unchanged by default. A family's template
        may need what OpenAI requests leave out (Ministral's: assistant `content` a string,
        never null) or ids of its own shape (Kimi-K2's `functions.NAME:0`)."""
        return messages, tools

    def supports_content_with_calls(self) -> bool:
        """Whether one turn can carry both text and calls."""
        return self.syntax.text_before_calls
