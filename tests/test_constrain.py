"""constrain: grammars built from each format's CallSyntax accept exactly what the format
renders, on real tokenizers (SmolLM2: every marker is plain text; Qwen2.5: `<tool_call>` is
one special token)."""

from __future__ import annotations

import pytest

from tests.constrain.cases import invalid
from tests.constrain.cases import thinking_formats, thinking_reply
from tests.formats.harness import ADD_TODO, NO_PARAMETERS, TOOLS, WEATHER, assistant
from toolwire.constrain import ToolCallConstraint, closed_schema, lark_grammar, response_format_constraint
from toolwire.formats import FORMAT_NAMES, get_format
from toolwire.formats.base import Format
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.types import NamedToolChoice

pytestmark = pytest.mark.model

SCHEMAS = {tool.name: normalize_parameters(tool.function.parameters, where=tool.name) for tool in TOOLS}
TEXT = assistant("The weather is fine.")
ONE_CALL = assistant(None, ("get_weather", {"city": "Paris", "unit": "celsius"}))
TWO_CALLS = assistant(None, ("get_weather", {"city": "Paris"}), ("todo.addTodo", {"todo": "buy milk"}))
NO_ARGS = assistant(None, ("get_time", {}))
NESTED = assistant(None, ("book", {"guests": [{"name": "Ann \"A\" ü", "age": 3}], "vip": True, "note": None, "price": 9.5}))


def _grammar(engine, fmt: Format, choice="auto", parallel=True) -> str:  # type: ignore[no-untyped-def]
    return lark_grammar(ToolCallConstraint(
        syntax=fmt.syntax, tools=TOOLS, schemas=SCHEMAS, tool_choice=choice, parallel_tool_calls=parallel),
        engine.vocabulary)


def accepts(engine, grammar: str, fmt: Format, text: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the grammar takes `text` and can then end (with the model's end token)."""
    matcher = engine.compile_grammar(grammar)
    tokens = engine.llama.tokenize(text.encode(), add_bos=False, special=True)
    return matcher.consume_tokens(tokens) and matcher.is_accepting()


@pytest.fixture(params=["smollm2", "qwen"])
def engine(request, smollm2_engine, qwen_engine):  # type: ignore[no-untyped-def]
    return smollm2_engine if request.param == "smollm2" else qwen_engine


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_auto_accepts_every_rendered_reply(engine, name: str) -> None:
    fmt = get_format(name)
    grammar = _grammar(engine, fmt)
    for message in (TEXT, ONE_CALL, TWO_CALLS, NO_ARGS, NESTED):
        assert accepts(engine, grammar, fmt, fmt.render_reply(message, TOOLS)), (name, message)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_required_takes_calls_not_text(engine, name: str) -> None:
    fmt = get_format(name)
    grammar = _grammar(engine, fmt, "required")
    assert accepts(engine, grammar, fmt, fmt.render_reply(ONE_CALL, TOOLS))
    assert accepts(engine, grammar, fmt, fmt.render_reply(TWO_CALLS, TOOLS))
    assert not accepts(engine, grammar, fmt, fmt.render_reply(TEXT, TOOLS))


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_parallel_off_takes_one_call(engine, name: str) -> None:
    fmt = get_format(name)
    grammar = _grammar(engine, fmt, "required", parallel=False)
    assert accepts(engine, grammar, fmt, fmt.render_reply(ONE_CALL, TOOLS))
    assert not accepts(engine, grammar, fmt, fmt.render_reply(TWO_CALLS, TOOLS))


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_named_takes_only_that_tool(engine, name: str) -> None:
    fmt = get_format(name)
    grammar = _grammar(engine, fmt, NamedToolChoice(function={"name": "todo.addTodo"}))
    assert accepts(engine, grammar, fmt, fmt.render_reply(assistant(None, ("todo.addTodo", {"todo": "X"})), TOOLS))
    assert not accepts(engine, grammar, fmt, fmt.render_reply(ONE_CALL, TOOLS))


@pytest.mark.parametrize("choice", ["auto", "required"])
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_arguments_must_match_the_schema(engine, name: str, choice: str) -> None:
    """Also under auto: free text can never carry an unconstrained call."""
    fmt = get_format(name)
    grammar = _grammar(engine, fmt, choice)
    for message in invalid(fmt).values():
        assert not accepts(engine, grammar, fmt, fmt.render_reply(message, TOOLS)), (name, message)


def test_special_token_trigger_is_a_token(qwen_engine) -> None:  # type: ignore[no-untyped-def]
    grammar = _grammar(qwen_engine, get_format("hermes"))
    assert f"<[{qwen_engine.vocabulary.special_tokens['<tool_call>']}]>" in grammar
    assert '"<tool_call>' not in grammar


def test_plain_text_trigger_is_lazy_text(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    grammar = _grammar(smollm2_engine, get_format("hermes"))
    assert "[lazy]" in grammar and '"<tool_call>"' in grammar


def test_turn_may_end_after_a_trailing_separator(qwen_engine) -> None:  # type: ignore[no-untyped-def]
    """FINDINGS #2: after a call the model writes a newline, then its end-of-turn token."""
    fmt = get_format("hermes")
    grammar = _grammar(qwen_engine, fmt, "required", parallel=False)
    assert accepts(qwen_engine, grammar, fmt, fmt.render_reply(ONE_CALL, TOOLS) + "\n")


def test_closed_schema_forbids_unknown_keys_everywhere() -> None:
    schema = closed_schema(SCHEMAS["book"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["guests"]["items"]["additionalProperties"] is False
    open_schema = {"type": "object", "additionalProperties": True}
    assert closed_schema(open_schema)["additionalProperties"] is True


def test_response_format_json_schema(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    grammar = lark_grammar(response_format_constraint({"type": "json_schema", "json_schema": {
        "name": "x", "strict": True, "schema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}}))
    matcher = smollm2_engine.compile_grammar(grammar)
    assert matcher.consume_tokens(smollm2_engine.llama.tokenize(b'{"a": 1}', add_bos=False, special=True))
    assert matcher.is_accepting()
    assert response_format_constraint({"type": "text"}) is None


def test_tools_without_parameters_and_dotted_names(engine) -> None:  # type: ignore[no-untyped-def]
    fmt = get_format("chatml-functions")
    grammar = lark_grammar(ToolCallConstraint(fmt.syntax, [NO_PARAMETERS, ADD_TODO, WEATHER], SCHEMAS, "required"),
                           engine.vocabulary)
    assert accepts(engine, grammar, fmt, 'function\nget_time()\ntodo.addTodo("X")')


@pytest.mark.parametrize("name", thinking_formats())
def test_thinking_may_hold_the_trigger_and_must_close(engine, name: str) -> None:
    fmt = get_format(name)
    for choice in ("auto", "required"):
        grammar = _grammar(engine, fmt, choice)
        assert accepts(engine, grammar, fmt, thinking_reply(fmt)), (name, choice)
        assert not accepts(engine, grammar, fmt, thinking_reply(fmt, closed=False)), (name, choice)
