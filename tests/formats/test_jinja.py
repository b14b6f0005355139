"""jinja: a model's own chat template, sandboxed, with the parser its template implies."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.formats.harness import TOOLS, WEATHER, assistant
from toolwire.errors import TemplateError
from toolwire.formats import RenderOptions, get_format
from toolwire.formats.jinja import JinjaFormat, detect_format, thinking_variables
from toolwire.formats.sandbox import ChatTemplate
from toolwire.gguf import chat_template
from toolwire.types import parse_messages

TEMPLATES = Path(__file__).parent.parent / "templates"


def template(name: str) -> str:
    return (TEMPLATES / name).read_text()


def model_path(filename: str) -> Path:
    """A real GGUF model for tests, from $TOOLWIRE_TEST_MODELS (default /tmp/models);
    skips the test when it is not there."""
    path = Path(os.environ.get("TOOLWIRE_TEST_MODELS", "/tmp/models")) / filename
    if not path.is_file():
        pytest.skip(f"model file {path} not found (set TOOLWIRE_TEST_MODELS to its directory)")
    return path


QWEN = template("qwen2.5.jinja")
SMOLLM2 = template("smollm2.jinja")

CALL_AND_RESULT = parse_messages([
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"id": "call_abc12", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_abc12", "content": "sunny"},
])
CONVERSATIONS = {
    "user": parse_messages([{"role": "user", "content": "Hi"}]),
    "system_user": parse_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
    "call_and_result": CALL_AND_RESULT,
    "parallel_calls_text_and_results": parse_messages([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "c1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "c2", "function": {"name": "get_weather", "arguments": {"city": "東京", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rainy <b>"},
        {"role": "assistant", "content": "Sunny, then rainy."},
        {"role": "user", "content": "Thanks"},
    ]),
}


# --- detection ---------------------------------------------------------------------------

DETECTED = {
    "qwen2.5.jinja": "hermes",
    "smollm2.jinja": None,
    "mistral-tools.jinja": "mistral",
    "llama3.1.jinja": "llama3-json",
    "functionary-v2.jinja": "functionary-v2",
    "lfm2.jinja": "lfm2",
    "llama3.2-pythonic.jinja": "pythonic",
}


@pytest.mark.parametrize("filename,expected", DETECTED.items(), ids=DETECTED.keys())
def test_detect_format(filename, expected):
    assert detect_format(template(filename)) == expected


def test_detection_order_prefers_specific_markers():
    llama_pythonic = "<|start_header_id|>{{ '\"parameters\": ' }} in the format of [func_name1(params_name1=..."
    assert detect_format(llama_pythonic) == "pythonic"
    assert detect_format("{{ '<tool_call>' }} {\"parameters\": x}") == "hermes"
    assert detect_format("<|python_tag|>") == "llama3-json"
    assert detect_format("{{ '[TOOL_CALLS] <tool_call>' }}") == "mistral"


# --- the Qwen2.5 template against the hermes format that emulates it -----------------------

@pytest.mark.parametrize("messages", CONVERSATIONS.values(), ids=CONVERSATIONS.keys())
@pytest.mark.parametrize("tools", [TOOLS, []], ids=["tools", "no_tools"])
def test_qwen_template_equals_hermes_render(messages, tools):
    assert JinjaFormat(QWEN).render(messages, tools) == get_format("hermes").render(messages, tools)


def test_qwen_template_shows_tools_and_a_call_with_its_result():
    prompt = JinjaFormat(QWEN).render(CALL_AND_RESULT, [WEATHER])
    tools_block = prompt[prompt.index("<tools>\n"):prompt.index("\n</tools>")]
    assert '\n{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather", ' in tools_block
    assert ('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
            "</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n") in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_jinja_format_delegates_to_its_parser():
    fmt = JinjaFormat(QWEN)
    hermes = get_format("hermes")
    assert fmt.name == "jinja" and fmt.parser_name == "hermes"
    assert fmt.syntax == hermes.syntax
    message = assistant("Checking.", ("get_weather", {"city": "Paris"}))
    reply = fmt.render_reply(message, TOOLS)
    assert reply == hermes.render_reply(message, TOOLS)
    parsed = fmt.parse(reply, tools=TOOLS)
    assert parsed.content == "Checking."
    assert [(c.name, c.parsed_arguments()) for c in parsed.calls] == [("get_weather", {"city": "Paris"})]
    assert fmt.parse(reply[:-5], partial=True).calls[0].complete is False
    assert fmt.supports_content_with_calls()


def test_render_options():
    fmt = JinjaFormat(QWEN)
    user = CONVERSATIONS["user"]
    assert "<tools>" not in fmt.render(user, TOOLS, RenderOptions(describe_tools=False))
    assert fmt.render(user, (), RenderOptions(system_prompt="Be terse.")).startswith("<|im_start|>system\nBe terse.<|im_end|>")
    with_system = CONVERSATIONS["system_user"]
    assert "Be terse." not in fmt.render(with_system, (), RenderOptions(system_prompt="Be terse."))
    assert fmt.render(user, (), RenderOptions(add_generation_prompt=False)).endswith("Hi<|im_end|>\n")


def test_roles_are_mapped_for_templates():
    messages = parse_messages([
        {"role": "developer", "content": "Dev rules."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "function_call": {"name": "get_time", "arguments": "{}"}},
        {"role": "function", "name": "get_time", "content": "noon"},
    ])
    prompt = ChatTemplate(QWEN).render(messages, [WEATHER])
    assert prompt.startswith("<|im_start|>system\nDev rules.\n\n# Tools")
    assert '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>' in prompt
    assert "<tool_response>\nnoon\n</tool_response>" in prompt


# --- SmolLM2: a template without tool syntax -------------------------------------------------

def test_smollm2_needs_a_parser():
    with pytest.raises(TemplateError, match=re.escape("template has no tool-call syntax; pass parser=")):
        JinjaFormat(SMOLLM2)
    fmt = JinjaFormat(SMOLLM2, parser="hermes")
    assert fmt.parser_name == "hermes"
    prompt = fmt.render(CONVERSATIONS["user"], TOOLS)
    assert prompt == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_smollm2_renders_a_tool_conversation():
    prompt = ChatTemplate(SMOLLM2).render(CONVERSATIONS["parallel_calls_text_and_results"], TOOLS)
    assert "<|im_start|>assistant\nChecking.<|im_end|>\n<|im_start|>tool\nsunny<|im_end|>\n" in prompt


# --- other families' templates render their own wire text -----------------------------------

RENDERED = {
    "llama3.1.jinja": [
        '"name": "get_weather",\n        "description": "Get the current weather"',
        '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>',
        "<|start_header_id|>ipython<|end_header_id|>\n\nsunny<|eot_id|>",
    ],
    "mistral-tools.jinja": [
        '[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "get_weather"',
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]</s>',
        '[TOOL_RESULTS] {"content": "sunny"}[/TOOL_RESULTS]',
    ],
    "functionary-v2.jinja": [
        '<|from|>assistant\n<|recipient|>get_weather\n<|content|>{"city": "Paris"}',
        "<|from|>get_weather\n<|recipient|>all\n<|content|>sunny\n",  # the tool's name, from its call id
        "<|from|>assistant\n<|recipient|>",
    ],
    "lfm2.jinja": [
        'List of tools: <|tool_list_start|>[{"type": "function"',
        '<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|><|im_end|>',
        "<|tool_response_start|>sunny<|tool_response_end|>",
    ],
    "llama3.2-pythonic.jinja": [
        '<|start_header_id|>assistant<|end_header_id|>\n\n[get_weather(city="Paris")]<|eot_id|>',
    ],
}


@pytest.mark.parametrize("filename,expected", RENDERED.items(), ids=RENDERED.keys())
def test_family_templates_render(filename, expected):
    prompt = ChatTemplate(template(filename), bos_token="<s>", eos_token="</s>").render(CALL_AND_RESULT, [WEATHER])
    for piece in expected:
        assert piece in prompt, (piece, prompt)


@pytest.mark.parametrize("filename", [name for name, parser in DETECTED.items() if parser], ids=str)
def test_jinja_format_for_each_family(filename):
    parser = DETECTED[filename]
    try:
        expected = get_format(parser)
    except ModuleNotFoundError:
        pytest.skip(f"the {parser} format is not written yet")
    fmt = JinjaFormat(template(filename), bos_token="<s>", eos_token="</s>")
    assert fmt.parser_name == parser and fmt.syntax == expected.syntax
    assert fmt.render(CALL_AND_RESULT[:1], [WEATHER])


def test_raise_exception_becomes_template_error():
    two_calls = CONVERSATIONS["parallel_calls_text_and_results"]
    with pytest.raises(TemplateError, match="chat template raised an error: This model only supports single tool-calls"):
        ChatTemplate(template("llama3.1.jinja")).render(two_calls, TOOLS)


# --- HF conventions ---------------------------------------------------------------------------

@pytest.mark.parametrize("source,expected", [
    ("{{ {'b': '<é>', 'a': 1} | tojson }}", '{"b": "<é>", "a": 1}'),
    ("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}", '{"a": 2, "b": 1}'),
    ("{{ {'a': [1]} | tojson(indent=2) }}", '{\n  "a": [\n    1\n  ]\n}'),
    ("{{ 'é' | tojson(ensure_ascii=true) }}", '"\\u00e9"'),
    ("{{ [1, 2] | tojson(separators=(',', ':')) }}", "[1,2]"),
    ("{% for i in range(5) %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}", "01"),
    ("{% for i in range(3) %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}", "02"),
    ("{% generation %}kept{% endgeneration %}", "kept"),
    ("{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}", "<s>|</s>|True|None"),
    ("{{ messages[0].content }}{{ messages[0].missing }}", "Hi"),
    ("  {% if true %}\nyes\n  {% endif %}\n", "yes\n"),  # trim_blocks, lstrip_blocks
    ("{{ date_string }}", "1 Jan 2025"),
])
def test_hf_conventions(source, expected):
    rendered = ChatTemplate(source, bos_token="<s>", eos_token="</s>", variables={"date_string": "1 Jan 2025"})
    assert rendered.render(CONVERSATIONS["user"]) == expected


def test_strftime_now():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", ChatTemplate("{{ strftime_now('%Y-%m-%d') }}").render([]))


def test_call_arguments_are_dicts_that_print_as_json():
    source = ("{% set a = messages[1].tool_calls[0].function.arguments %}"
              "{{ a is mapping }}|{{ a.city }}|{{ a }}|{{ '>' + a }}|{{ a | tojson }}|{{ a.items() | list }}")
    assert ChatTemplate(source).render(CALL_AND_RESULT) == (
        'True|Paris|{"city": "Paris"}|>{"city": "Paris"}|{"city": "Paris"}|[(\'city\', \'Paris\')]')


# --- the sandbox ------------------------------------------------------------------------------

ESCAPES = {
    "str_class": "{{ ''.__class__ }}",
    "mro_subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "tuple_base": "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner_globals": "{{ joiner.__init__.__globals__ }}",
    "lipsum_globals": "{{ lipsum.__globals__['os'] }}",
    "namespace_init": "{{ namespace.__init__.__globals__ }}",
    "self_context": "{{ self.__init__.__globals__ }}",
    "self_dict": "{{ self._TemplateReference__context }}",
    "attr_filter": "{{ ''|attr('__class__') }}",
    "subscript": "{{ ''['__class__'] }}",
    "format_string": "{{ '{0.__class__.__mro__}'.format('') }}",
    "raise_exception_globals": "{{ raise_exception.__globals__ }}",
    "tojson_globals": "{{ (messages|first).items.__self__.__class__ }}",
    "function_code": "{{ strftime_now.__code__ }}",
    "in_condition": "{% if ''.__class__ is defined %}x{% endif %}",
    "mutate_dict": "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "mutate_list_in_place": "{% set l = [2, 1] %}{{ l.sort() }}",
    "mutate_message": "{{ messages[0].update({'role': 'system'}) }}",
    "huge_string": "{{ 'a' * 10**9 }}",
    "huge_doubling": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_sandbox_escapes_are_refused(source):
    with pytest.raises(TemplateError, match="outside its sandbox"):
        ChatTemplate(source).render(CONVERSATIONS["user"])


def test_lists_may_grow_and_shrink_as_kimis_template_needs(monkeypatch):
    source = "{% set q = namespace(ids=[]) %}{% set _ = q.ids.append('a') %}{% set _ = q.ids.append('b') %}{{ q.ids.pop(0) }}{{ q.ids }}"
    assert ChatTemplate(source).render([]) == "a['b']"
    monkeypatch.setattr("toolwire.formats.sandbox.MAX_SEQUENCE", 10)
    with pytest.raises(TemplateError, match="outside its sandbox: list too long"):
        ChatTemplate("{% set l = [] %}{% for i in range(11) %}{% set _ = l.append(i) %}{% endfor %}").render([])


def test_thinking_options_become_template_variables():
    source = "{{ enable_thinking is defined }}|{{ thinking }}|{{ reasoning_effort }}"
    fmt = JinjaFormat(source, parser="hermes")
    assert fmt.render([], (), RenderOptions()) == "False||"
    assert fmt.render([], (), RenderOptions(thinking=False, reasoning_effort="low")) == "True|False|low"


def test_undefined_calls_and_bad_templates_are_template_errors():
    with pytest.raises(TemplateError, match="syntax error on line 1"):
        ChatTemplate("{% for %}")
    with pytest.raises(TemplateError, match="failed to render: UndefinedError"):
        ChatTemplate("{{ config.items() }}").render([])
    with pytest.raises(TemplateError, match="failed to render: TypeError"):
        ChatTemplate("{{ 'a' + 1 }}").render([])


# --- templates read from the real model files --------------------------------------------------

def test_model_files_templates():
    qwen = chat_template(model_path("qwen.gguf"))
    assert qwen == QWEN and JinjaFormat(qwen).parser_name == "hermes"
    smollm2 = chat_template(model_path("smollm2.gguf"))
    assert smollm2 == SMOLLM2 and detect_format(smollm2) is None


# --- reasoning and thinking switches ------------------------------------------------------------

QWEN3 = (Path(__file__).parent.parent / "templates" / "families" / "qwen3-0.6b.jinja").read_text()


def test_reasoning_content_reaches_the_template():
    messages = parse_messages([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "reasoning_content": "Greet back.", "content": "Hello!"},
    ])
    source = "{{ messages[1].reasoning_content }}|{{ messages[1].thinking }}|{{ messages[0].reasoning_content is defined }}"
    assert ChatTemplate(source).render(messages) == "Greet back.|Greet back.|False"


def test_call_only_turns_get_empty_content_where_the_template_needs_a_string():
    # Qwen3's template tests `'</think>' in message.content`, which fails on None.
    prompt = ChatTemplate(QWEN3).render(CALL_AND_RESULT, [WEATHER])
    assert '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in prompt
    # Templates that take None still get None.
    assert ChatTemplate("{{ messages[1].content is none }}").render(CALL_AND_RESULT) == "True"
    with pytest.raises(TemplateError, match="failed to render: TypeError"):
        ChatTemplate("{{ 'a' + 1 }}{{ messages[1].content }}").render(CALL_AND_RESULT)


@pytest.mark.parametrize("options,expected", [
    (RenderOptions(), {}),
    (RenderOptions(thinking=True), {"enable_thinking": True, "thinking": True}),
    (RenderOptions(thinking=False), {"enable_thinking": False, "thinking": False, "thinking_budget": 0}),
    (RenderOptions(reasoning_effort="low"), {"reasoning_effort": "low"}),
])
def test_thinking_variables(options, expected):
    assert thinking_variables(options) == expected


def test_thinking_switch_reaches_the_template():
    user = CONVERSATIONS["user"]
    fmt = JinjaFormat(QWEN3)
    assert fmt.render(user).endswith("<|im_start|>assistant\n")
    assert fmt.render(user, (), RenderOptions(thinking=True)).endswith("<|im_start|>assistant\n")
    assert fmt.render(user, (), RenderOptions(thinking=False)).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_call_only_turns_get_empty_content_where_the_template_would_print_none():
    glm = ChatTemplate((Path(__file__).parent.parent / "templates" / "families" / "glm-4.7-flash.jinja").read_text())
    prompt = glm.render(CALL_AND_RESULT, [WEATHER])
    assert "None" not in prompt
    assert "<|assistant|></think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>" in prompt
