"""Every family's real chat template against toolwire's format for it (issue 14).

For each template in `tests/templates/families/` (and in `$TOOLWIRE_TEMPLATE_DIR`, for
templates this file has never seen):

  * detection: `detect_format` names the family's format;
  * render: toolwire's own `render` of a conversation equals the template's rendering
    (known templates; differences are documented in `KNOWN` as deliberate);
  * reply round trip: the template's rendering of an assistant turn (text, one call,
    parallel calls, nested and array-of-object arguments, unicode, a string holding the
    format's own markers, text and a call, thinking that mentions the trigger and a call)
    parses back into the same turn, and streams at chunk sizes 1/2/3/7 to the same parse;
  * grammar: the grammar built for the format accepts the template-rendered reply,
    tokenized by a real tokenizer, and rejects a schema-invalid one.

A template not in `KNOWN` is checked by detection and these properties alone. A family
whose format is not written yet is `xfail(strict=True)`, naming the missing format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pytest

from tests.formats.template_harness import (
    FAMILIES,
    TEMPLATE_TOOLS,
    USER,
    NotRendered,
    NotThinking,
    Output,
    check_reply,
    invalid_reply,
    model_output,
    reply_cases,
    template_files,
    template_id,
)
from toolwire.constrain import ToolCallConstraint, lark_grammar
from toolwire.formats import FORMAT_NAMES, RenderOptions, get_format
from toolwire.formats.jinja import JinjaFormat, detect_format
from toolwire.schema.jsonschema import normalize_parameters
from toolwire.types import parse_messages


@dataclass(frozen=True)
class Known:
    """What is known of one copied template.

    `format`: the format `detect_format` must name. `unrendered`: reply cases the
    template cannot write (case -> why). `render_differs`: conversations ("*" for all)
    (or "tools": every conversation with tools; or a `RenderOptions` name of `OPTIONS`)
    where toolwire's `render` deliberately differs from the template (-> why).
    `grammar_differs`: reply cases ("*" for all cases with calls) the template writes in
    a way toolwire's grammar deliberately does not generate (-> why). `eos_token`: the
    model's end-of-sequence token, which the template writes after a turn (a GGUF gives it
    to `JinjaFormat`)."""

    format: str
    unrendered: Mapping[str, str] = field(default_factory=dict)
    render_differs: Mapping[str, str] = field(default_factory=dict)
    grammar_differs: Mapping[str, str] = field(default_factory=dict)
    eos_token: str = ""


KNOWN: dict[str, Known] = {
    # issue 14, part 1 (worktree formats-core)
    "qwen2.5-7b-instruct": Known("hermes"),
    "qwen3-0.6b": Known("qwen3"),
    "qwen3-coder": Known("qwen3-coder", unrendered={
        "reasoning_and_call": "Qwen3-Coder's template has no thinking (Qwen3.5's, same calls, has)",
        "reasoning_and_text": "Qwen3-Coder's template has no thinking (Qwen3.5's, same calls, has)",
    }),
    "glm-4.5": Known("glm-4.5"),
    "glm-4.7-flash": Known("glm-4.7"),
    "minimax-m2": Known("minimax-m2"),
    "seed-oss": Known("seed-oss", grammar_differs={
        "nested_arguments": "the template writes Python's str() of non-strings; the grammar writes JSON (the parser reads both)",
    }),
    "deepseek-v3.1": Known("deepseek-v3.1", unrendered={
        "reasoning_and_call": "the template drops the reasoning of every turn",
        "reasoning_and_text": "the template drops the reasoning of every turn",
    }, render_differs={
        "tools": "the template does not write the tools; toolwire writes the model card's `## Tools` section",
    }),
    "deepseek-r1-distill-qwen-32b": Known("deepseek-r1", unrendered={
        "text_and_call": "the template drops the text of a turn with calls",
        "reasoning_and_call": "the template drops the reasoning of every turn",
        "reasoning_and_text": "the template drops the reasoning of every turn",
    }, render_differs={
        "tools": "the template does not write the tools; toolwire writes DeepSeek-V3's `## Tools` function list",
        "call_and_result": "the template leaves out `<｜tool▁calls▁end｜>` after a single call; toolwire writes it",
        "parallel_text_and_results": "the template drops the calls of a turn with text; toolwire writes both",
        "reasoning_history": "the template leaves out `<｜tool▁calls▁end｜>` after a single call; toolwire writes it",
    }, grammar_differs={
        case: "the template leaves out `<｜tool▁calls▁end｜>` after a single call; the grammar writes it"
        for case in ("one_call", "nested_arguments", "unicode_arguments")
    }),
    "gpt-oss-120b": Known("harmony", unrendered={
        "parallel_calls": "the template writes only the first call of a turn (gpt-oss ends its turn at `<|call|>`)",
    }, render_differs={
        "parallel_text_and_results": "the template keeps only a turn's first call and names every result after it; "
                                     "toolwire writes each call and names each result after its call",
    }),
    "nemotron-nano-v2": Known("nemotron", unrendered={
        "text_and_call": "the template writes the text and the calls of a final turn as two turns",
        "reasoning_and_call": "the template drops the reasoning of every turn",
        "reasoning_and_text": "the template drops the reasoning of every turn",
    }, render_differs={
        "no_thinking": "the template takes no thinking switch but `/no_think`; toolwire honours `thinking=False`",
        "reasoning_history": "the template moves a final assistant turn's text into the generation prompt",
    }),
    "granite-3.3-2b-instruct": Known("granite-3", unrendered={
        case: "the template writes only the text of an assistant turn, never its calls"
        for case in ("one_call", "parallel_calls", "nested_arguments", "unicode_arguments", "marker_arguments",
                     "text_and_call", "reasoning_and_call")
    } | {"reasoning_and_text": "the template writes only the text of an assistant turn, not its reasoning"},
        render_differs={
        conversation: "the template drops the calls of past turns; toolwire writes them as the model wrote them"
        for conversation in ("call_and_result", "parallel_text_and_results", "reasoning_history")
    }),
    "granite-4.0": Known("granite-4"),
    "smollm3-3b": Known("smollm3", unrendered={
        case: "this template (Unsloth's edit) writes only the text of an assistant turn"
        for case in ("one_call", "parallel_calls", "nested_arguments", "unicode_arguments", "marker_arguments",
                     "text_and_call", "reasoning_and_call", "reasoning_and_text")
    }, render_differs={
        "tools": "this template has no tool section; toolwire writes SmolLM3's `### Tools` section",
        "call_and_result": "this template drops the calls of past turns; toolwire writes them",
        "parallel_text_and_results": "this template drops the calls of past turns; toolwire writes them",
        "reasoning_history": "this template drops the calls of past turns; toolwire writes them",
    }),
    # issue 14, part 2 (worktree formats-more): names are that engineer's to change
    "kimi-k2-instruct": Known("kimi-k2"),
    "mistral-small-3.2-24b-instruct-2506": Known("mistral-v11", eos_token="</s>", unrendered={
        "text_and_call": "the template drops the text of a turn with calls",
        "reasoning_and_call": "the template writes no reasoning (Mistral Small 3.2 does not think; "
                              "the format reads `[THINK]` for reasoning models that share it)",
        "reasoning_and_text": "the template writes no reasoning (Mistral Small 3.2 does not think; "
                              "the format reads `[THINK]` for reasoning models that share it)",
    }),
    "ministral-3-14b-reasoning-2512": Known("magistral", eos_token="</s>"),
    "mistral-nemo-instruct-2407": Known("mistral", unrendered={
        "text_and_call": "the template drops the text of a turn with calls",
    }, render_differs={
        "call_and_result": "not reconciled yet: toolwire writes `</s>` after calls and results as JSON strings",
        "parallel_text_and_results": "not reconciled yet: toolwire writes `</s>` after calls and results as JSON strings",
        "reasoning_history": "not reconciled yet: toolwire writes `</s>` after calls and results as JSON strings",
    }, grammar_differs={
        "*": "the template writes each call's `id`; the grammar leaves it out (the parser reads either)",
    }),
    "llama-4-pythonic": Known("llama4-pythonic", grammar_differs={
        "nested_arguments": "the template writes every past argument as `key=\"%s\"` (a list or object as its "
                            "Python repr in quotes); the grammar writes Python literals (the parser reads both)",
    }),
    "lfm2-8b-a1b": Known("lfm2", unrendered={
        case: "the template writes a past turn's content only: a turn with calls renders as `null`"
        for case in ("one_call", "parallel_calls", "nested_arguments", "unicode_arguments", "marker_arguments",
                     "text_and_call")
    }, render_differs={
        conversation: "the template writes a turn with calls as `null`; toolwire writes the calls, "
                      "as LFM2's documentation asks clients to put them in the content"
        for conversation in ("call_and_result", "parallel_text_and_results", "reasoning_history")
    }),
    "functiongemma": Known("functiongemma", unrendered={
        "text_and_call": "the template drops the text of a turn with calls",
    }, render_differs={
        "parallel_text_and_results": "the template drops the text of a turn with calls; toolwire writes it",
    }, grammar_differs={
        "nested_arguments": "the template writes a past argument as `<escape>` Python's str() `<escape>`; "
                            "the grammar writes Google's FunctionGemma syntax (the parser reads both)",
    }),
    "gemma-4-31b-it": Known("gemma-4", unrendered={
        "reasoning_and_text": "the template writes the thinking only of a turn with calls",
    }, grammar_differs={
        "nested_arguments": "the template writes a null argument as Python's `None`; the grammar writes `null` "
                            "(the parser reads both)",
        "text_and_call": "the template writes a turn's text after its calls; the grammar writes it before them "
                         "(the parser reads both)",
    }),
    "phi-4-mini": Known("phi-4-mini", unrendered={
        "text_and_call": "the template drops the calls of a turn with text",
    }, render_differs={
        "parallel_text_and_results": "the template drops the calls of a turn with text; toolwire writes the text, then the calls",
    }, grammar_differs={
        "*": "the template writes past calls as bare JSON objects without `functools[...]`; "
             "the grammar writes the marker the system prompt asks for (the parser reads both)",
    }),
    "command-r7b-12-2024-tool_use": Known("command-r7b", unrendered={
        "reasoning_and_text": "the template writes a text turn as its response alone, without a plan",
    }),
    "apertus-8b-instruct": Known("apertus"),
    "functionary-medium-v3.1": Known("functionary-v3.1", render_differs={
        "tools": "the template HTML-escapes the tools' JSON (`\"...\"|safe + ...` makes Markup); toolwire writes "
                 "plain JSON (test_functionary_v3 checks they are equal once unescaped)",
    }),
    "functionary-medium-v3.2": Known("functionary-v3.2", render_differs={
        "tools": "toolwire writes the tools' namespace with schema/typescript.py (no blank lines inside it, "
                 "a dotted name in its own namespace), not the template's macro",
    }),
    "llama-3.1-8b-instruct": Known("llama3-json", unrendered={
        "parallel_calls": "the template refuses more than one call per turn",
    }, render_differs={
        "*": "not reconciled yet: llama3-json writes toolwire's tool instructions, not the 3.1 template's",
    }),
}

CASES = (
    "text", "one_call", "parallel_calls", "nested_arguments", "unicode_arguments", "marker_arguments",
    "text_and_call", "reasoning_and_call", "reasoning_and_text",
)
GRAMMAR_CASES = ("text", "one_call", "parallel_calls", "nested_arguments", "unicode_arguments", "text_and_call",
                 "reasoning_and_call")
OPTIONS = {"default": RenderOptions(), "thinking": RenderOptions(thinking=True), "no_thinking": RenderOptions(thinking=False)}

CONVERSATIONS = {
    "user": parse_messages([{"role": "user", "content": "Hi"}]),
    "system_user": parse_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
    "call_and_result": parse_messages([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call00001", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call00001", "content": "sunny"},
    ]),
    "parallel_text_and_results": parse_messages([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call00001", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call00002", "function": {"name": "get_weather", "arguments": {"city": "東京", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "call00001", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call00002", "content": "rainy <b>"},
        {"role": "assistant", "content": "Sunny, then rainy."},
        {"role": "user", "content": "Thanks"},
    ]),
    "reasoning_history": parse_messages([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "reasoning_content": "Use the tool.", "tool_calls": [
            {"id": "call00001", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call00001", "content": "sunny"},
        {"role": "assistant", "reasoning_content": "Say it.", "content": "Sunny."},
    ]),
}

TEMPLATES = template_files()


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _known(path: Path) -> Known | None:
    return KNOWN.get(path.stem) if path.parent == FAMILIES else None


def _params(*extra: tuple[str, ...]) -> list[pytest.param]:  # type: ignore[name-defined]
    """(template path, *extra) for every template and combination of extras, a known
    family whose format is missing marked xfail(strict)."""
    combos: list[tuple[str, ...]] = [()]
    for values in extra:
        combos = [combo + (value,) for combo in combos for value in values]
    params = []
    for path in TEMPLATES:
        known = _known(path)
        marks = []
        if known is not None and known.format not in FORMAT_NAMES:
            marks.append(pytest.mark.xfail(strict=True, reason=f"format {known.format!r} is not implemented yet"))
        for combo in combos:
            params.append(pytest.param(path, *combo, marks=marks, id="-".join((template_id(path), *combo))))
    return params


def _differs(path: Path, kind: str, name: str) -> str:
    """Why `name` (a conversation, "tools", or a case) deliberately differs, per `KNOWN`;
    "" if it does not."""
    known = _known(path)
    if known is None:
        return ""
    differences: Mapping[str, str] = getattr(known, kind)
    return differences.get(name) or differences.get("*", "")


def _jinja(path: Path) -> JinjaFormat:
    """The template as a format; for a known template, parsed by the expected format."""
    source = _source(path)
    known = _known(path)
    detected = detect_format(source)
    if known is not None:
        assert detected == known.format, f"detected {detected!r}, expected {known.format!r}"
    assert detected is not None, "the template shows no tool-call syntax toolwire knows"
    return JinjaFormat(source, eos_token=known.eos_token if known else "")


def _output(path: Path, fmt: JinjaFormat, case: str, options: RenderOptions) -> Output:
    cases = reply_cases(fmt)
    if case not in cases:
        pytest.skip(f"{case} does not apply to {fmt.parser_name}")
    try:
        return model_output(fmt, cases[case], TEMPLATE_TOOLS, options)
    except NotThinking:
        pytest.skip("with thinking off the model does not think")
    except NotRendered as exc:
        known = _known(path)
        if known is not None and case not in known.unrendered:
            raise AssertionError(f"the template cannot write {case} ({exc}); if deliberate, say why in KNOWN") from None
        pytest.skip(known.unrendered[case] if known else str(exc))


def _applies(fmt: JinjaFormat, option: str) -> None:
    if option != "default" and fmt.syntax.reasoning is None:
        pytest.skip(f"{fmt.parser_name} has no thinking to switch")


# --- detection -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", _params())
def test_detection(path: Path) -> None:
    _jinja(path)


# --- render: toolwire's own rendering equals the template's ---------------------------------

@pytest.mark.parametrize("path,conversation,tools,option", _params(tuple(CONVERSATIONS), ("tools", "no_tools"), tuple(OPTIONS)))
def test_render_equals_template(path: Path, conversation: str, tools: str, option: str) -> None:
    known = _known(path)
    if known is None:
        pytest.skip("an unseen template has no toolwire rendering to compare with")
    fmt = _jinja(path)
    _applies(fmt, option)
    reason = next(filter(None, (_differs(path, "render_differs", key) for key in (conversation, tools, option))), "")
    if reason:
        pytest.skip(f"deliberate difference: {reason}")
    native = get_format(known.format)
    listed = TEMPLATE_TOOLS if tools == "tools" else []
    messages = CONVERSATIONS[conversation]
    assert native.render(messages, listed, OPTIONS[option]) == fmt.render(messages, listed, OPTIONS[option])


# --- replies: the template's rendering parses back, one-shot and streamed --------------------

@pytest.mark.parametrize("path,case,option", _params(CASES, tuple(OPTIONS)))
def test_reply_round_trip(path: Path, case: str, option: str) -> None:
    fmt = _jinja(path)
    _applies(fmt, option)
    if option == "no_thinking" and case.startswith("reasoning"):
        pytest.skip("with thinking off the model does not think")
    output = _output(path, fmt, case, OPTIONS[option])
    check_reply(fmt, output, reply_cases(fmt)[case], TEMPLATE_TOOLS)


def test_harness_reads_the_model_output_past_the_generation_prompt() -> None:
    """The hermes template (Qwen2.5) writes a call as the model does after its prompt."""
    fmt = JinjaFormat(_source(FAMILIES / "qwen2.5-7b-instruct.jinja"))
    output = model_output(fmt, reply_cases(fmt)["one_call"], TEMPLATE_TOOLS)
    assert output.prompt.endswith("<|im_start|>user\nPlan my day, please.<|im_end|>\n<|im_start|>assistant\n")
    assert output.text == '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    assert fmt.render([USER], TEMPLATE_TOOLS) == output.prompt


# --- grammar: built from the format's CallSyntax, on real tokenizers -------------------------

SCHEMAS = {tool.name: normalize_parameters(tool.function.parameters, where=tool.name) for tool in TEMPLATE_TOOLS}


@pytest.fixture(params=["smollm2", "qwen"])
def engine(request, smollm2_engine, qwen_engine):  # type: ignore[no-untyped-def]
    return smollm2_engine if request.param == "smollm2" else qwen_engine


def _accepts(engine, fmt: JinjaFormat, output: Output) -> bool:  # type: ignore[no-untyped-def]
    syntax = fmt.for_prompt(output.prompt).syntax
    grammar = lark_grammar(ToolCallConstraint(syntax=syntax, tools=TEMPLATE_TOOLS, schemas=SCHEMAS), engine.vocabulary)
    matcher = engine.compile_grammar(grammar)
    tokens = engine.llama.tokenize(output.text.encode(), add_bos=False, special=True)
    return matcher.consume_tokens(tokens) and matcher.is_accepting()


@pytest.mark.model
@pytest.mark.parametrize("path,case", _params(GRAMMAR_CASES))
def test_grammar_accepts_the_template_reply(engine, path: Path, case: str) -> None:  # type: ignore[no-untyped-def]
    fmt = _jinja(path)
    output = _output(path, fmt, case, RenderOptions())
    differs = _differs(path, "grammar_differs", case)
    if differs and reply_cases(fmt)[case].calls():
        pytest.skip(f"deliberate difference: {differs}")
    assert _accepts(engine, fmt, output), output.text


@pytest.mark.model
@pytest.mark.parametrize("path", _params())
def test_grammar_rejects_schema_invalid_arguments(engine, path: Path) -> None:  # type: ignore[no-untyped-def]
    fmt = _jinja(path)
    try:
        output = model_output(fmt, invalid_reply(), TEMPLATE_TOOLS)
    except NotRendered as exc:
        known = _known(path)
        if known is not None and "one_call" not in known.unrendered:
            raise AssertionError(f"the template cannot write a call ({exc})") from None
        pytest.skip(f"the template writes no calls: {exc}")
    if _differs(path, "grammar_differs", "one_call"):
        # the template writes calls as the grammar does not: check the call as toolwire writes it
        output = Output(output.prompt, fmt.render_reply(invalid_reply(), TEMPLATE_TOOLS))
    assert not _accepts(engine, fmt, output), output.text
