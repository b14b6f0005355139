"""Streaming: turn text deltas into content / tool-call events, once for every format.

The format's parser is pure (`parse(text_so_far, partial=True)`); events are the
difference between successive parses, so the concatenation of all events equals the
one-shot parse of the whole text by construction. A format guarantees that partial parses
only grow (content and arguments by appending, calls by appearing with their full name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

from toolwire.formats.base import Format
from toolwire.types import ParsedMessage, Tool

__all__ = ["ArgumentsDelta", "CallStart", "ContentDelta", "Event", "ReasoningDelta", "StreamParser"]


@dataclass(frozen=True)
class ContentDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """Text of the model's thinking block (OpenAI-compatible servers: `reasoning_content`)."""

    text: str


@dataclass(frozen=True)
class CallStart:
    """A new call: its position among this turn's calls, its id and its full name."""

    index: int
    id: str
    name: str


@dataclass(frozen=True)
class ArgumentsDelta:
    index: int
    text: str


Event = Union[ReasoningDelta, ContentDelta, CallStart, ArgumentsDelta]


@dataclass
class StreamParser:
    """Feed text deltas of any size; get events; `finish()` flushes what was held back.

    After `finish()`, `result` is the one-shot parse of the whole text, with the ids that
    the events announced."""

    format: Format
    tools: Sequence[Tool] = ()
    text: str = ""
    ids: list[str] = field(default_factory=list)
    _reasoning_sent: str = ""
    _content_sent: str = ""
    _arguments_sent: list[str] = field(default_factory=list)
    result: ParsedMessage | None = None

    def feed(self, delta: str) -> list[Event]:
        """Add a text delta; return the events it completes."""
        self.text += delta
        return self._diff(self.format.parse(self.text, partial=True, tools=self.tools))

    def finish(self, *, cut: bool = False) -> list[Event]:
        """Parse the whole text one-shot and emit whatever is still owed.

        Calls already announced stay calls, so that the result is what the events add up
        to. `cut` (the text was cut off at `max_tokens`): the result is the partial parse
        of the whole text, which extends everything the stream showed (the last call's
        arguments may be unfinished, as with OpenAI's `finish_reason: "length"`). A
        finished text whose one-shot parse takes an announced call back (unconstrained
        output whose arguments turn out not to parse) keeps the one-shot content, the
        text nothing is lost from, beside the calls as they were announced."""
        final = self.format.parse(self.text, partial=False, tools=self.tools)
        if self.ids and cut:
            final = self.format.parse(self.text, partial=True, tools=self.tools)
        elif self.ids and not self._extends_sent(final):
            final.calls = self.format.parse(self.text, partial=True, tools=self.tools).calls
        events = self._diff(final)
        for call, call_id in zip(final.calls, self.ids):
            call.id = call_id
        self.result = final
        return events

    def _extends_sent(self, parsed: ParsedMessage) -> bool:
        """Whether `parsed` keeps every call the events announced, as far as they went."""
        if len(parsed.calls) < len(self.ids):
            return False
        return all(call.arguments.startswith(sent) for call, sent in zip(parsed.calls, self._arguments_sent))

    def _diff(self, parsed: ParsedMessage) -> list[Event]:
        events: list[Event] = []
        if parsed.reasoning.startswith(self._reasoning_sent) and len(parsed.reasoning) > len(self._reasoning_sent):
            events.append(ReasoningDelta(parsed.reasoning[len(self._reasoning_sent):]))
            self._reasoning_sent = parsed.reasoning
        if parsed.content.startswith(self._content_sent) and len(parsed.content) > len(self._content_sent):
            events.append(ContentDelta(parsed.content[len(self._content_sent):]))
            self._content_sent = parsed.content
        for index, call in enumerate(parsed.calls):
            if index == len(self.ids):
                self.ids.append(call.id or self.format.new_call_id())
                self._arguments_sent.append("")
                events.append(CallStart(index, self.ids[index], call.name))
            sent = self._arguments_sent[index]
            if call.arguments.startswith(sent) and len(call.arguments) > len(sent):
                events.append(ArgumentsDelta(index, call.arguments[len(sent):]))
                self._arguments_sent[index] = call.arguments
        return events
