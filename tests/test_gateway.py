"""gateway: the marker texts a remote engine looks up in its upstream's vocabulary."""

from __future__ import annotations

import pytest

from toolwire.formats import get_format
from toolwire.gateway import marker_texts


@pytest.mark.parametrize("name,expected", [
    ("gemma-4", {"<|tool_call>", "<tool_call|>", '<|"|>', "<|channel>", "<channel|>", "<|tool_response>"}),
    ("magistral", {"[TOOL_CALLS]", "[ARGS]", "[THINK]", "[/THINK]"}),
    ("functiongemma", {"<start_function_call>", "<end_function_call>", "<escape>"}),
    ("kimi-k2", {"<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>",
                 "<|tool_call_end|>", "<|tool_calls_section_end|>"}),
])
def test_markers_include_string_delimiters_and_closing_markers(name, expected):
    assert set(marker_texts(get_format(name).syntax)) == expected
