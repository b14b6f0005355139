"""Every format's partial parses only grow, as `streaming.py` relies on: reasoning and
content by appending, calls by appearing with their full name and arguments by
appending, up to the final parse. Checked on text built from the formats' own markers,
cut at every character. The one exception is inherent: a call whose arguments turn out
not to be valid once they close was announced while streaming and becomes content."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.harness import TOOLS
from toolwire.formats import FORMAT_NAMES, get_format

PIECES = [
    # markers of the formats' calls and thinking blocks
    "<tool_call>", "</tool_call>", "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>",
    "<|tool_call_end|>", "<|tool_calls_section_end|>", "functions.get_time:0", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]",
    "[THINK]", "[/THINK]", "<|tool_call_start|>", "<start_function_call>", "<end_function_call>", "call:get_time",
    "<escape>", "<|tool_call>", "<tool_call|>", '<|"|>', "<|channel>thought\n", "<channel|>", "<|tool_response>",
    "functools[", "<|START_THINKING|>", "<|END_THINKING|>", "<|START_ACTION|>", "<|END_ACTION|>", "<|START_RESPONSE|>",
    "<|END_RESPONSE|>", "<|tools_prefix|>", "<|tools_suffix|>", "<|inner_prefix|>", "<|inner_suffix|>",
    "<function=get_time>", "</function>", ">>>", "all\n", "get_time\n", "<|python_tag|>", "<|recipient|>",
    "<|content|>", "\n<|from|>assistant\n<|recipient|>",
    # calls and their pieces
    '{"name": "get_time", "arguments": {}}', '{"tool_name": "get_time", "parameters": {}}', '{"get_time": {}}',
    "[get_time()]", 'get_weather(city="P")', '{"city": "P"}', "{city:1}", "{", "}", "[", "]", ",", ":", '"', "(", ")",
    # text
    "x", " ", "\n", "1", "true", "None", "Hi.",
]


@pytest.mark.parametrize("name", FORMAT_NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=10))
def test_partial_parses_only_grow(name, pieces):
    fmt = get_format(name)
    text = "".join(pieces)
    parses = [fmt.parse(text[:end], partial=True, tools=TOOLS) for end in range(len(text) + 1)]
    final = fmt.parse(text, tools=TOOLS)
    if len(final.calls) < max(len(parsed.calls) for parsed in parses):
        return  # a call announced while streaming was not one (see the module docstring)
    for previous, parsed in zip(parses, [*parses[1:], final]):
        assert parsed.reasoning.startswith(previous.reasoning), text
        assert parsed.content.startswith(previous.content), text
        assert len(parsed.calls) >= len(previous.calls), text
        for before, now in zip(previous.calls, parsed.calls):
            assert now.name == before.name and now.arguments.startswith(before.arguments), text
