"""The turn with a format whose generation prompt opens the thinking block (GLM-4.7's
`<|assistant|><think>`): parsed and constrained from inside the block, so the reasoning is
`reasoning_content`, a trigger written while thinking is not a call, and the one call after
it is. Plumbing only, on the scripted engine; the formats are tested on real templates in
tests/formats/test_templates.py."""

from __future__ import annotations

import json

from tests.chat.scripted import SURE, ScriptedEngine, chunks
from toolwire.chat import ChatModel
from toolwire.formats import get_format

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
THOUGHT = "I could write <tool_call>get_weather</tool_call> myself."
OUTPUT = [(THOUGHT, SURE), "</think>", ("<tool_call>get_weather", SURE), "<arg_key>city</arg_key><arg_value>",
          ("Paris", SURE), "</arg_value></tool_call>"]


def _model() -> tuple[ChatModel, ScriptedEngine]:
    engine = ScriptedEngine([chunks(*OUTPUT)], end_tokens=frozenset({"<|user|>", "<|observation|>"}))
    return ChatModel(engine, get_format("glm-4.7"), "scripted"), engine


def test_reasoning_and_one_call_from_a_prompt_that_opened_the_block() -> None:
    chat_model, engine = _model()
    reply = chat_model.chat([{"role": "user", "content": "Weather in Paris?"}], tools=TOOLS, parallel_tool_calls=False)
    message = reply["choices"][0]["message"]
    assert engine.prompts[0].endswith("<|user|>Weather in Paris?<|assistant|><think>")
    assert engine.constraints[0].syntax.reasoning.opened_by_prompt
    assert message["reasoning_content"] == THOUGHT
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("get_weather", {"city": "Paris"})]
    assert not message.get("content")


def test_streamed_reasoning_and_call() -> None:
    chat_model, _ = _model()
    stream = list(chat_model.chat([{"role": "user", "content": "Weather in Paris?"}], tools=TOOLS, stream=True,
                                   parallel_tool_calls=False))
    deltas = [chunk["choices"][0]["delta"] for chunk in stream if chunk["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == THOUGHT
    names = [call["function"]["name"] for d in deltas for call in d.get("tool_calls", []) if "name" in call.get("function", {})]
    assert names == ["get_weather"]
    assert not "".join(d.get("content") or "" for d in deltas)
