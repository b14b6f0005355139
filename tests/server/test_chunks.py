"""toolwire.server.chunks: chat chunks read back as events and folded into the completion."""

from __future__ import annotations

import pytest

from tests.server.chat_chunks import ANSWERS, chunks
from toolwire.server.chunks import ChunkReader
from toolwire.streaming import ArgumentsDelta, CallStart, ContentDelta, ReasoningDelta


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_folding_the_chunks_gives_the_completion_back(name: str) -> None:
    reader = ChunkReader()
    for chunk in chunks(ANSWERS[name]):
        reader.feed(chunk)
    assert reader.completion() == ANSWERS[name]


def test_events_in_order() -> None:
    reader = ChunkReader()
    events = [event for chunk in chunks(ANSWERS["reasoning"]) for event in reader.feed(chunk)]
    kinds = [type(event) for event in events]
    assert kinds.index(ReasoningDelta) < kinds.index(ContentDelta) < kinds.index(CallStart) < kinds.index(ArgumentsDelta)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "The user wants weather."
    assert [e for e in events if isinstance(e, CallStart)] == [CallStart(0, "call_0", "get_weather")]
    assert "".join(e.text for e in events if isinstance(e, ArgumentsDelta)) == '{"city": "Oslo"}'
    assert reader.finish_reason == "tool_calls" and reader.usage == ANSWERS["reasoning"]["usage"]


def test_empty_deltas_carry_no_events() -> None:
    reader = ChunkReader()
    assert reader.feed(chunks(ANSWERS["text"])[0]) == []  # the opening {"role": "assistant", "content": ""}
