"""The stream parser: events add up to the result, also where a one-shot parse would take
back a call the stream already announced."""

from __future__ import annotations

from toolwire.formats import get_format
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, StreamParser

# unconstrained harmony output whose arguments are not JSON (SmolLM2 wrote it)
UNPARSEABLE_ARGUMENTS = ' to=functions.get_weather to=assistant<|message|>{city: "Paris"}'


def _stream(text: str, *, cut: bool = False) -> tuple[StreamParser, list]:
    parser = StreamParser(get_format("harmony"))
    events = [event for char in text for event in parser.feed(char)]
    return parser, events + parser.finish(cut=cut)


def test_a_call_the_stream_announced_stays_a_call() -> None:
    parser, events = _stream(UNPARSEABLE_ARGUMENTS)
    assert get_format("harmony").parse(UNPARSEABLE_ARGUMENTS).calls == []  # one-shot: content
    starts = [event for event in events if isinstance(event, CallStart)]
    assert [event.name for event in starts] == ["get_weather"]
    assert parser.result is not None and [call.name for call in parser.result.calls] == ["get_weather"]
    streamed = "".join(event.text for event in events if isinstance(event, ArgumentsDelta))
    assert parser.result.calls[0].arguments == streamed
    # nothing is lost: the text the one-shot parse reads as content is content too
    assert parser.result.content == UNPARSEABLE_ARGUMENTS
    assert parser.result.content == "".join(event.text for event in events if isinstance(event, ContentDelta))


def test_text_without_announced_calls_keeps_the_one_shot_parse() -> None:
    parser, events = _stream("Just text.")
    assert parser.result is not None and parser.result.content == "Just text." and not parser.result.calls
    assert not any(isinstance(event, CallStart) for event in events)
