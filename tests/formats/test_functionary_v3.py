"""functionary-v3.1 (`<function=NAME>{...}</function>`) and functionary-v3.2
(`>>>recipient\\n...`), MeetKai's Llama 3 formats."""

import html

import pytest
from hypothesis import given, settings

from tests.formats.harness import (
    TOOLS, assert_round_trip, assert_streaming_equivalent, assistant, assistant_turns, call_pairs,
)
from tests.formats.template_replies import CONVERSATIONS, renders_like_template, template, template_reply
from toolwire.formats import get_format
from toolwire.types import Tool

V31 = get_format("functionary-v3.1")
V32 = get_format("functionary-v3.2")
V31_TEMPLATE = template("functionary-medium-v3.1.jinja", parser="functionary-v3.1")
V32_TEMPLATE = template("functionary-medium-v3.2.jinja", parser="functionary-v3.2")
PYTHON = Tool.model_validate({"type": "function", "function": {"name": "python", "parameters": {
    "type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}}})

V31_CASES = {
    "text": ("Hello there.", assistant("Hello there.")),
    "one_call": ('<function=get_weather>{"city": "Paris"}</function>', assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_parallel": ('Let me check.<function=get_time>{}</function>\n<function=todo.addTodo>{"todo": "</function>"}</function>',
                           assistant("Let me check.", ("get_time", {}), ("todo.addTodo", {"todo": "</function>"}))),
    "text_after": ('<function=get_time>{}</function> Done.', assistant(" Done.", ("get_time", {}))),
    "not_json_is_content": ("<function=get_time>now</function>", assistant("<function=get_time>now</function>")),
}
V32_CASES = {
    "text": ("all\nHello there.", assistant("Hello there.")),
    "one_call": ('get_weather\n{"city": "Paris"}', assistant(None, ("get_weather", {"city": "Paris"}))),
    "text_then_parallel": ('all\nLet me check.>>>get_time\n{}>>>todo.addTodo\n{"todo": ">>>all\\n"}',
                           assistant("Let me check.", ("get_time", {}), ("todo.addTodo", {"todo": ">>>all\n"}))),
    "newlines_between_calls": ('get_time\n{}\n>>>get_time\n {} \n', assistant(None, ("get_time", {}), ("get_time", {}))),
    "not_json_is_content": ("get_time\nnow", assistant("get_time\nnow")),
    "no_recipient_is_content": ("Hello", assistant("Hello")),
}


@pytest.mark.parametrize("fmt,text,expected", [(V31, *case) for case in V31_CASES.values()] + [(V32, *case) for case in V32_CASES.values()],
                         ids=[f"v3.1-{k}" for k in V31_CASES] + [f"v3.2-{k}" for k in V32_CASES])
def test_parse(fmt, text, expected):
    parsed = fmt.parse(text, tools=TOOLS)
    assert (parsed.content or None) == expected.content
    assert call_pairs(parsed) == call_pairs(expected)
    assert_streaming_equivalent(fmt, text)


def test_v31_python_tag_is_a_python_call_when_that_tool_is_given():
    text = "<|python_tag|>print(1)\nprint(2)"
    assert call_pairs(V31.parse(text, tools=[PYTHON])) == [("python", {"code": "print(1)\nprint(2)"})]
    assert V31.parse(text, tools=TOOLS).content == text
    assert V31.render_reply(assistant(None, ("python", {"code": "print(1)"}))) == "<|python_tag|>print(1)"


def test_v32_waits_for_the_recipient():
    assert V32.parse("get_wea", partial=True).calls == [] and V32.parse("get_wea", partial=True).content == ""
    assert V32.parse("all\nHi>>", partial=True).content == "Hi"
    assert [(c.name, c.arguments) for c in V32.parse('get_weather\n{"ci', partial=True).calls] == [("get_weather", '{"ci')]


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_v31_render_equals_the_template_without_tools(name):
    """With tools the template HTML-escapes their JSON (`"|safe + ...` makes Markup) while
    toolwire writes plain JSON: a deliberate difference."""
    assert renders_like_template(V31, V31_TEMPLATE, CONVERSATIONS[name], [])
    escaped = V31_TEMPLATE.render(CONVERSATIONS[name], TOOLS)
    assert "&#34;" in escaped and html.unescape(escaped) == V31.render(CONVERSATIONS[name], TOOLS)


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_v32_render_equals_the_template_without_tools(name):
    """With tools, `schema/typescript.py` writes the namespace (see the module docstring)."""
    assert renders_like_template(V32, V32_TEMPLATE, CONVERSATIONS[name], [])


@pytest.mark.parametrize("fmt,jinja", [(V31, V31_TEMPLATE), (V32, V32_TEMPLATE)], ids=["v3.1", "v3.2"])
@pytest.mark.parametrize("message", [
    assistant(None, ("get_weather", {"city": "東京"})),
    assistant("Checking.", ("get_weather", {"city": "Paris"}), ("book", {"guests": [{"name": "Ann", "age": 3}], "vip": True})),
    assistant(None, ("todo.addTodo", {"todo": "<function=x>{}</function> >>>all\n"})),
], ids=["unicode", "text_and_parallel_nested", "markers"])
def test_template_replies_parse_back(fmt, jinja, message):
    reply = template_reply(jinja, message, TOOLS)
    parsed = fmt.parse(reply, tools=TOOLS)
    assert call_pairs(parsed) == call_pairs(message) and parsed.content == (message.content or "")
    assert_streaming_equivalent(fmt, reply)


@settings(max_examples=100, deadline=None)
@given(assistant_turns(content_with_calls=True))
def test_round_trip(message):
    assert_round_trip(V31, message)
    assert_round_trip(V32, message)
