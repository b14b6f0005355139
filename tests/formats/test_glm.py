"""glm-4.5 and glm-4.7: `<arg_key>`/`<arg_value>` calls after a `<think>` block."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    NESTED, TOOLS, WEATHER, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
    thoughts,
)
from toolwire.formats import RenderOptions, get_format
from toolwire.types import parse_messages

GLM45 = get_format("glm-4.5")
GLM47 = get_format("glm-4.7")
ROUND_TRIP_TOOLS = [WEATHER, *TOOLS[1:3], NESTED]

# GLM-4.5 as the model writes it (newlines between the tags), the template's own
# (tighter) form, and GLM-4.7's.
MODEL_45 = "\n<think>Use the tool.</think>\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"
TEMPLATE_45 = "\n<think></think>\nLet me check.\n<tool_call>get_weather<arg_key>city</arg_key>\n<arg_value>Paris</arg_value></tool_call>"
AFTER_OPEN_47 = ("I could write <tool_call>get_time</tool_call>.</think>"
                 "<tool_call>book<arg_key>guests</arg_key><arg_value>[{\"name\": \"Ann\", \"age\": 3}]</arg_value>"
                 "<arg_key>vip</arg_key><arg_value>true</arg_value></tool_call>")


@pytest.mark.parametrize("fmt,prompt,text,reasoning,content,calls", [
    (GLM45, "<|assistant|>", MODEL_45, "Use the tool.", "", [("get_weather", {"city": "Paris"})]),
    (GLM45, "<|assistant|>", TEMPLATE_45, "", "Let me check.", [("get_weather", {"city": "Paris"})]),
    (GLM47, "<|assistant|><think>", AFTER_OPEN_47, "I could write <tool_call>get_time</tool_call>.", "",
     [("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})]),
    (GLM47, "<|assistant|></think>", "Sunny.", "", "Sunny.", []),
], ids=["glm45_model", "glm45_template", "glm47_opened", "glm47_thinking_off"])
def test_parse(fmt, prompt, text, reasoning, content, calls):
    continued = fmt.for_prompt(prompt)
    parsed = continued.parse(text, tools=TOOLS)
    assert (parsed.reasoning, parsed.content, call_pairs(parsed)) == (reasoning, content, calls)
    assert_streaming_equivalent(continued, text)


@pytest.mark.parametrize("fmt", [GLM45, GLM47], ids=["glm-4.5", "glm-4.7"])
@pytest.mark.parametrize("prompt", ["<|assistant|>", "<|assistant|><think>"], ids=["closed", "opened"])
@settings(max_examples=100, deadline=None)
@given(message=assistant_turns(content_with_calls=True, reasoning=thoughts("<tool_call>", "<arg_key>")))
def test_round_trip(fmt, prompt, message):
    assert_round_trip(fmt.for_prompt(prompt), message, ROUND_TRIP_TOOLS)


def test_render_switches_thinking():
    user = parse_messages([{"role": "user", "content": "Hi"}])
    assert GLM47.render(user).endswith("<|user|>Hi<|assistant|><think>")
    assert GLM47.render(user, (), RenderOptions(thinking=False)).endswith("<|user|>Hi<|assistant|></think>")
    assert GLM45.render(user).endswith("<|user|>Hi<|assistant|>")
    assert GLM45.render(user, (), RenderOptions(thinking=False)).endswith("<|user|>Hi/nothink<|assistant|>\n<think></think>")


def test_render_reply_after_an_opened_block():
    message = assistant("Sunny.").model_copy(update={"reasoning_content": "Look it up."})
    assert GLM47.for_prompt("<|assistant|><think>").render_reply(message) == "Look it up.</think>Sunny."
    assert GLM47.render_reply(message) == "<think>Look it up.</think>Sunny."
    assert GLM45.render_reply(message) == "\n<think>Look it up.</think>\nSunny."
