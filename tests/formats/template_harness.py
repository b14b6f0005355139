"""The template harness: real chat templates as the source of truth for the formats.

Knows no template and no format. For any chat template it derives:

  * the model's output for an assistant turn (`model_output`): the template's rendering of
    [user, turn] past its rendering of [user] + generation prompt, as llama.cpp's
    test-chat does; where the two disagree about the thinking block (the generation
    prompt opens `<think>`, the history form drops or closes it) the output is what the
    model writes after the generation prompt;
  * the replies every family is checked on (`reply_cases`): text, one call, parallel
    calls, nested-object and array-of-object arguments, unicode, a string argument
    holding the format's own markers, text before calls, thinking that mentions the
    call trigger and then a call;
  * the checks on a reply (`check_reply`): it parses back into the same calls, content
    and reasoning, and streams (chunks of 1/2/3/7 characters) to the one-shot parse.

Per-file knowledge (the expected format, what a template cannot render, deliberate
differences) is the table in `test_templates.py`; a template not in the table (from
`$TOOLWIRE_TEMPLATE_DIR`) is checked through detection and these properties alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from tests.formats.harness import WEATHER, assert_streaming_equivalent, assistant
from toolwire.errors import TemplateError
from toolwire.formats.base import CallSyntax, Format, RenderOptions
from toolwire.formats.jinja import JinjaFormat
from toolwire.types import AssistantMessage, Message, Tool, UserMessage

FAMILIES = Path(__file__).parent.parent / "templates" / "families"
TEMPLATE_DIR_VARIABLE = "TOOLWIRE_TEMPLATE_DIR"


def template_files() -> list[Path]:
    """The copied family templates, then those in `$TOOLWIRE_TEMPLATE_DIR` (if set)."""
    files = sorted(FAMILIES.glob("*.jinja"))
    extra = os.environ.get(TEMPLATE_DIR_VARIABLE)
    if extra:
        files += sorted(Path(extra).glob("*.jinja"))
    return files


def template_id(path: Path) -> str:
    return path.stem if path.parent == FAMILIES else f"extra/{path.stem}"


# --- tools and replies --------------------------------------------------------------------

TIME = Tool.model_validate({"type": "function", "function": {
    "name": "get_time", "description": "The current time",
    "parameters": {"type": "object", "properties": {}}}})
ADD_TODO = Tool.model_validate({"type": "function", "function": {
    "name": "todo.addTodo", "description": "Add a todo to the list",
    "parameters": {"type": "object", "properties": {"todo": {"type": "string", "description": "The todo"}},
                   "required": ["todo"]}}})
PLAN_TRIP = Tool.model_validate({"type": "function", "function": {
    "name": "plan_trip", "description": "Plan a trip",
    "parameters": {"type": "object", "properties": {
        "trip": {"type": "object", "properties": {
            "from": {"type": "string"}, "to": {"type": "string"},
            "stops": {"type": "array", "items": {"type": "object", "properties": {
                "city": {"type": "string"}, "nights": {"type": "integer"}}, "required": ["city"]}}},
            "required": ["from", "to"]},
        "travellers": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "age": {"type": "integer"}}}},
        "vip": {"type": "boolean"},
        "budget": {"type": ["number", "null"]}},
        "required": ["trip"]}}})
TEMPLATE_TOOLS: list[Tool] = [WEATHER, TIME, ADD_TODO, PLAN_TRIP]

USER = UserMessage(content="Plan my day, please.")
PARIS = ("get_weather", {"city": "Paris"})
NESTED_ARGUMENTS = {
    "trip": {"from": "Paris", "to": "Rome", "stops": [{"city": "Lyon", "nights": 2}, {"city": "Milan", "nights": 1}]},
    "travellers": [{"name": "Ann", "age": 34}, {"name": "Bo", "age": 7}],
    "vip": True,
    "budget": None,
}
UNICODE_CITY = "東京 — Zürich «naïve» 🌧"
REASONING = "The user wants the weather. I could write {trigger} by hand, but the tool is better."
INVALID = ("get_weather", {"unit": "kelvin"})
"""Arguments no grammar may accept: the required `city` is missing, `kelvin` is no unit."""


def marker_string(syntax: CallSyntax) -> str:
    """A string holding every marker of the format (the literal pieces of its calls and of
    its thinking block), separated by words. Not its end of turn: that is a stop string,
    which ends generation wherever the model writes it."""
    pieces = [item for item in syntax.call if isinstance(item, str)]
    pieces += [syntax.calls_begin, syntax.calls_end, syntax.separator, syntax.trigger, syntax.text_to_calls]
    if syntax.reasoning is not None:
        pieces += [syntax.reasoning.begin, syntax.reasoning.end, syntax.reasoning.separator]
    words = [token for piece in pieces for word in piece.split() for token in word.replace("><", ">\0<").split("\0")]
    stops = [marker for marker in (syntax.end, *syntax.stops) if marker]
    markers = [word for word in dict.fromkeys(words) if not any(stop in word for stop in stops)]
    return "say " + " or ".join(markers) + " now"


def turn(content: str | None, *calls: tuple[str, dict[str, Any]]) -> AssistantMessage:
    """An assistant turn; call ids are 9 alphanumerics, which every template accepts
    (Mistral's insist on them)."""
    message = assistant(content, *calls)
    for index, call in enumerate(message.tool_calls or []):
        call.id = f"call{index:05d}"
    return message


def with_reasoning(message: AssistantMessage, reasoning: str) -> AssistantMessage:
    return message.model_copy(update={"reasoning_content": reasoning})


def reply_cases(fmt: Format) -> dict[str, AssistantMessage]:
    """The assistant turns a format is checked on, by name."""
    syntax = fmt.syntax
    cases = {
        "text": turn("Sunny, 21 °C in Paris."),
        "one_call": turn(None, PARIS),
        "parallel_calls": turn(None, ("get_weather", {"city": "Paris", "unit": "celsius"}), ("get_time", {})),
        "nested_arguments": turn(None, ("plan_trip", NESTED_ARGUMENTS)),
        "unicode_arguments": turn(None, ("get_weather", {"city": UNICODE_CITY})),
        "marker_arguments": turn(None, ("todo.addTodo", {"todo": marker_string(syntax)})),
    }
    if fmt.supports_content_with_calls():
        cases["text_and_call"] = turn("Let me check.", PARIS)
    if syntax.reasoning is not None:
        thought = REASONING.format(trigger=syntax.trigger_text().strip() or syntax.reasoning.end)
        cases["reasoning_and_call"] = with_reasoning(turn(None, PARIS), thought)
        cases["reasoning_and_text"] = with_reasoning(turn("Sunny."), "Paris is usually mild.")
    return cases


def invalid_reply() -> AssistantMessage:
    return turn(None, INVALID)


# --- the model's output, from the template --------------------------------------------------

class NotRendered(Exception):
    """The template cannot write this turn (it drops calls, reasoning or text, or splits
    the turn into several); the case cannot be checked against it."""


class NotThinking(NotRendered):
    """The generation prompt closes the (empty) thinking block: with these options the
    model does not think, so a turn with reasoning is no output of it (Gemma 4 by default)."""


@dataclass(frozen=True)
class Output:
    """What the model writes after `prompt` for a turn, as the template teaches it."""

    prompt: str
    text: str


def _common_prefix(a: str, b: str) -> int:
    index = 0
    while index < min(len(a), len(b)) and a[index] == b[index]:
        index += 1
    return index


def _tag_start(text: str, end: int) -> int:
    """`end`, or the start of the `<...>` / `[...]` tag that `text[:end]` stops inside."""
    opened = max(text.rfind("<", 0, end), text.rfind("[", 0, end))
    closed = max(text.rfind(">", 0, end), text.rfind("]", 0, end))
    return opened if opened > closed else end


def _strip_end(text: str, syntax: CallSyntax, prompt: str) -> str:
    """`text` without the end-of-turn marker the template writes after the turn, nor the
    generation prompt some templates write after it whatever `add_generation_prompt`
    says (Phi-4-mini's `<|assistant|>`, Command R7B's `<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>`)."""
    stripped = text.rstrip()
    for marker in sorted({syntax.end, *syntax.stops} - {""}, key=len, reverse=True):
        generation = prompt[prompt.rfind(marker) + len(marker):] if marker in prompt else ""
        if generation.strip() and stripped.endswith(marker + generation.rstrip()):
            stripped = stripped[: -len(generation.rstrip())]
            break
    for marker in sorted({syntax.end, *syntax.stops} - {""}, key=len, reverse=True):
        if stripped.endswith(marker):
            return stripped[: -len(marker)]
    return text


def model_output(fmt: JinjaFormat, message: AssistantMessage, tools: Sequence[Tool],
                 options: RenderOptions = RenderOptions(), before: Sequence[Message] = (USER,)) -> Output:
    """The model's output for `message` after the generation prompt, from the template."""
    prompt = fmt.render(before, tools, options)
    try:
        full = fmt.render([*before, message], tools, RenderOptions(
            add_generation_prompt=False, thinking=options.thinking, reasoning_effort=options.reasoning_effort))
    except TemplateError as exc:
        raise NotRendered(f"the template refuses the turn: {exc}") from None
    syntax = fmt.syntax
    reasoning = syntax.reasoning
    if reasoning is not None and message.reasoning_content and reasoning.end.strip() \
            and prompt.rstrip().endswith(reasoning.end.strip()):
        raise NotThinking("the generation prompt closes the thinking block")
    if full.startswith(prompt):
        text = full[len(prompt):]
        if reasoning is not None and reasoning.left_open_by(prompt) and reasoning.end not in text:
            # The history form drops the block the generation prompt opened (Nemotron):
            # the model closes it before its answer.
            text = reasoning.end + reasoning.separator + text
    else:
        common = _tag_start(prompt, _common_prefix(prompt, full))
        text = _past_generation_prompt(prompt[common:], full[common:], syntax)
    text = _strip_end(text, syntax, prompt)
    if any(marker and marker in text for marker in (syntax.end, *syntax.stops)):
        raise NotRendered("the template writes this turn as several turns")
    missing = [piece for piece in _visible_pieces(message) if piece not in text]
    if missing:
        raise NotRendered(f"the template does not write {missing}")
    return Output(prompt, text)


def _past_generation_prompt(generation_tail: str, history_tail: str, syntax: CallSyntax) -> str:
    """The model's output when the template's history form of the turn does not continue
    its generation prompt: they differ only in the thinking block."""
    reasoning = syntax.reasoning
    if reasoning is None:
        raise AssertionError(f"the turn does not continue the generation prompt: {generation_tail!r} vs {history_tail!r}")
    begin, end = reasoning.begin.strip(), reasoning.end.strip()
    tail = generation_tail.strip()
    history = history_tail.lstrip()
    if tail == begin:
        # The generation prompt opens the block; the history form closes it at once
        # (GLM-4.7 `</think>`), holds it, or leaves it out (DeepSeek-R1, Nemotron).
        if history.startswith(end):
            return history
        if history.startswith(begin):
            return history[len(begin):]
        return reasoning.end + reasoning.separator + history_tail
    if tail.startswith(begin) and tail.endswith(end):
        # The generation prompt holds a closed (empty) block: the model answers at once.
        if history.startswith(begin) and end in history:
            history = history[history.index(end) + len(end):].lstrip()
        return history
    raise AssertionError(f"the turn does not continue the generation prompt: {generation_tail!r} vs {history_tail!r}")


def _visible_pieces(message: AssistantMessage) -> list[str]:
    """Text that must appear in a rendering of `message`: call names, content, the first
    words of the reasoning."""
    pieces = [call.name for call in message.calls()]
    if message.content:
        pieces.append(str(message.content))
    if message.reasoning_content:
        pieces.append(message.reasoning_content.split(".")[0])
    return pieces


# --- checks -----------------------------------------------------------------------------------

def call_pairs_of(message: AssistantMessage) -> list[tuple[str, Any]]:
    return [(call.name, call.parsed_arguments()) for call in message.calls()]


def check_reply(fmt: Format, output: Output, message: AssistantMessage, tools: Sequence[Tool]) -> None:
    """The output parses back into `message` (calls, content and reasoning; surrounding
    whitespace aside, which templates trim) and streams to its one-shot parse."""
    continued = fmt.for_prompt(output.prompt)
    parsed = continued.parse(output.text, tools=tools)
    context = f"output: {output.text!r}"
    assert [(call.name, json.loads(call.arguments)) for call in parsed.calls] == call_pairs_of(message), context
    assert parsed.content.strip() == str(message.content or "").strip(), context
    assert parsed.reasoning.strip() == (message.reasoning_content or "").strip(), context
    assert_streaming_equivalent(continued, output.text, tools)
