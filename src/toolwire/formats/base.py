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

import secrets
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
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
    "ReasoningSyntax",
    "RenderOptions",
    "Slot",
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

ArgumentStyle = Literal["json", "python-kwargs", "js-args", "gemma"]
"""How a call's arguments are written:
- `json`: one JSON object;
- `python-kwargs`: `key=value` pairs with Python literals (`True`, `None`);
- `js-args`: one JSON object, or positional JSON values in schema property order;
- `gemma`: Gemma's object syntax `{key:value,...}`: bare keys in sorted order, strings
  between two `CallSyntax.string_delimiter`s and never escaped, other values as in JSON
  (`{city:<|"|>Paris<|"|>,days:3}`)."""


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
