"""chat: whole requests on real models. With constraints, every returned call parses and
validates against its tool's schema, in every format, for every tool_choice."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.formats.harness import ADD_TODO, TOOLS
from toolwire.chat import ChatModel
from toolwire.errors import RequestError, SchemaError
from toolwire.formats import FORMAT_NAMES, get_format
from toolwire.formats.choice import choose_format
from toolwire.models import resolve_model
from toolwire.types import AssistantMessage

pytestmark = pytest.mark.model

TOOL_DICTS = [tool.model_dump(exclude_none=True) for tool in TOOLS]
SCHEMAS = {tool.name: tool.function.parameters or {"type": "object", "properties": {}} for tool in TOOLS}
QUESTION = [{"role": "user", "content": "What is the weather in Paris and in Tokyo? Also add 'buy milk' to my todo list."}]
CHOICES = ["auto", "required", {"type": "function", "function": {"name": "todo.addTodo"}}]


def assert_valid_calls(message: dict, *, cut: bool = False) -> list[dict]:
    """Every call names a tool and its arguments validate; in an answer cut by max_tokens
    (`cut`), the last call's arguments may be unfinished, as the stream showed them."""
    calls = message.get("tool_calls") or []
    for index, call in enumerate(calls):
        name = call["function"]["name"]
        assert name in SCHEMAS, name
        if cut and index == len(calls) - 1:
            continue
        arguments = json.loads(call["function"]["arguments"])
        jsonschema.validate(arguments, SCHEMAS[name])
        assert call["id"] and call["type"] == "function"
    return calls


UNCLOSED_STRINGS = {"functiongemma"}
UNCLOSED_REASON = ("SmolLM2 never writes the delimiter that ends this format's strings (`<escape>`, one special "
                   "token for FunctionGemma, plain text here): a forced call's string runs on to max_tokens, and "
                   "the cut-off call is content")


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "single"])
@pytest.mark.parametrize("choice", CHOICES, ids=["auto", "required", "named"])
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_every_call_validates(smollm2_engine, name: str, choice, parallel: bool) -> None:  # type: ignore[no-untyped-def]
    fmt = get_format(name)
    model = ChatModel(smollm2_engine, fmt, "smollm2-135m")
    # A format with a thinking block: SmolLM2 thinks until stopped, so a budget closes it.
    policies = {"thinking_budget": 16} if fmt.syntax.reasoning is not None else None
    result = model.chat(QUESTION, tools=TOOL_DICTS, tool_choice=choice, parallel_tool_calls=parallel, max_tokens=80,
                        policies=policies)
    choice_out = result["choices"][0]
    calls = assert_valid_calls(choice_out["message"], cut=choice_out["finish_reason"] == "length")
    if choice != "auto" and name in UNCLOSED_STRINGS and not calls:
        pytest.xfail(UNCLOSED_REASON)
    if choice != "auto" and choice_out["finish_reason"] != "length":
        assert calls, choice_out
    if isinstance(choice, dict):
        assert [call["function"]["name"] for call in calls] == ["todo.addTodo"]
    if not parallel:
        assert len(calls) <= 1
    if calls:
        cut_off = result["usage"]["completion_tokens"] >= 80
        # an answer cut by max_tokens keeps the calls it completed and ends with "length" (thinking spends tokens)
        assert choice_out["finish_reason"] == "tool_calls" or (cut_off and choice_out["finish_reason"] == "length")
        assert choice_out["message"]["content"] is None or fmt.supports_content_with_calls() or cut_off
    assert result["usage"]["total_tokens"] == result["usage"]["prompt_tokens"] + result["usage"]["completion_tokens"]


@pytest.mark.parametrize("name", ["hermes", "chatml-functions", "mistral"])
def test_streaming_gives_the_same_message(smollm2_engine, name: str) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format(name), "smollm2-135m")
    whole = model.chat(QUESTION, tools=TOOL_DICTS, tool_choice="required", max_tokens=60)["choices"][0]
    chunks = list(model.chat(QUESTION, tools=TOOL_DICTS, tool_choice="required", max_tokens=60, stream=True, include_usage=True))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == whole["finish_reason"]
    content, calls = "", {}
    for chunk in chunks[1:-2]:
        delta = chunk["choices"][0]["delta"]
        content += delta.get("content") or ""
        for call in delta.get("tool_calls") or []:
            if "id" in call:
                assert call["index"] == len(calls), "indices are consecutive"
                calls[call["index"]] = {"name": call["function"]["name"], "arguments": ""}
            else:
                assert "name" not in call["function"]
            calls[call["index"]]["arguments"] += call["function"]["arguments"]
    expected = whole["message"]
    assert (content or None) == expected["content"]
    assert [(c["name"], c["arguments"]) for c in calls.values()] == [
        (c["function"]["name"], c["function"]["arguments"]) for c in expected.get("tool_calls") or []]


def test_none_makes_no_calls(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format("hermes"), "smollm2-135m")
    message = model.chat(QUESTION, tools=TOOL_DICTS, tool_choice="none", max_tokens=30)["choices"][0]["message"]
    assert "tool_calls" not in message and message["content"]


def test_legacy_functions_answer_with_function_call(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format("chatml-functions"), "smollm2-135m")
    functions = [tool["function"] for tool in TOOL_DICTS]
    result = model.chat(QUESTION, functions=functions, function_call={"name": "get_weather"}, max_tokens=40)
    choice = result["choices"][0]
    assert choice["finish_reason"] == "function_call"
    assert choice["message"]["function_call"]["name"] == "get_weather"
    jsonschema.validate(json.loads(choice["message"]["function_call"]["arguments"]), SCHEMAS["get_weather"])


def test_response_format_json_schema(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format("chatml-functions"), "smollm2-135m")
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    result = model.chat([{"role": "user", "content": "Name a city as JSON."}], max_tokens=40,
                        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema, "strict": True}})
    jsonschema.validate(json.loads(result["choices"][0]["message"]["content"]), schema)


def test_request_errors_name_the_field(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format("hermes"), "smollm2-135m")
    with pytest.raises(RequestError, match="tool_choice: no tool named 'nope'"):
        model.chat(QUESTION, tools=TOOL_DICTS, tool_choice={"type": "function", "function": {"name": "nope"}})
    bad = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "strin"}}}}}]
    with pytest.raises(SchemaError, match=r"tools\[0\]\.function\.parameters"):
        model.chat(QUESTION, tools=bad)
    with pytest.raises(RequestError, match=r"messages\[0\]"):
        model.chat([{"role": "wizard", "content": "x"}])


def test_sloppy_schemas_are_relaxed_and_named_or_refused_when_strict(smollm2_engine) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format("hermes"), "smollm2-135m")
    lookahead = {"type": "function", "function": {"name": "odd", "parameters": {
        "type": "object", "properties": {"code": {"type": "string", "pattern": "^(?!foo)bar"}}, "required": ["code"]}}}
    sloppy_enum = {"type": "function", "function": {"name": "pick", "parameters": {
        "type": "object", "properties": {"size": {"type": "integer", "enum": ["S", "M"]}}, "required": ["size"]}}}
    result = model.chat(QUESTION, tools=[TOOL_DICTS[0], lookahead, sloppy_enum], tool_choice="required", max_tokens=40)
    notes = [note["detail"] for note in result["toolwire"]["notes"] if note["policy"] == "schemas"]
    assert notes == ["tools[1].function.parameters: dropped pattern '^(?!foo)bar': the grammar engine cannot compile it",
                     "tools[2].function.parameters: dropped type 'integer': no value of enum ['S', 'M'] has it"]
    named = model.chat(QUESTION, tools=[sloppy_enum], tool_choice={"type": "function", "function": {"name": "pick"}},
                       max_tokens=60)
    assert json.loads(named["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["size"] in ("S", "M")
    with pytest.raises(SchemaError, match=r"tools\[1\]\.function\.parameters: the schema of tool 'odd' cannot be compiled"):
        model.chat(QUESTION, tools=[TOOL_DICTS[0], lookahead], tool_choice="required", policies={"schemas": "strict"})
    unknown_format = {"type": "function", "function": {"name": "mail", "parameters": {
        "type": "object", "properties": {"to": {"type": "string", "format": "x-custom"}}, "required": ["to"]}}}
    result = model.chat(QUESTION, tools=[unknown_format], tool_choice="required", max_tokens=30)
    assert result["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "mail"


def test_smollm2_template_defaults_to_chatml_functions() -> None:
    assert choose_format(resolve_model("smollm2-135m")).name == "chatml-functions"


# --- the default model ----------------------------------------------------------------

CURRENT_WEATHER = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
        "required": ["location"]}}}
QWEN_TOOLS = [CURRENT_WEATHER, ADD_TODO.model_dump(exclude_none=True)]


@pytest.fixture(scope="module")
def qwen(qwen_engine) -> ChatModel:  # type: ignore[no-untyped-def]
    return ChatModel(qwen_engine, choose_format(resolve_model("qwen2.5-coder-0.5b")), "qwen2.5-coder-0.5b")


def ask(model: ChatModel, question: str, **options) -> dict:  # type: ignore[no-untyped-def]
    result = model.chat([{"role": "user", "content": question}], tools=QWEN_TOOLS, max_tokens=120, **options)
    return result["choices"][0]["message"]


def names_and_arguments(message: dict) -> list[tuple[str, dict]]:
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or []]


def test_qwen_template_is_detected_as_hermes(qwen: ChatModel) -> None:
    assert qwen.format.name == "jinja" and qwen.format.parser_name == "hermes"


def test_qwen_weather(qwen: ChatModel) -> None:
    [(name, arguments)] = names_and_arguments(ask(qwen, "What is the weather for Istanbul?"))
    assert name == "get_current_weather" and "Istanbul" in arguments["location"]


def test_qwen_todo(qwen: ChatModel) -> None:
    [(name, arguments)] = names_and_arguments(ask(qwen, "Add X to my todo list"))
    assert name == "todo.addTodo" and "X" in arguments["todo"]


def test_qwen_joke_is_text_under_auto_and_a_call_under_required(qwen: ChatModel) -> None:
    message = ask(qwen, "Tell me a joke")
    assert "tool_calls" not in message and message["content"]
    assert len(names_and_arguments(ask(qwen, "Tell me a joke", tool_choice="required"))) >= 1


def test_qwen_parallel_calls(qwen: ChatModel) -> None:
    both = names_and_arguments(ask(qwen, "Weather in Paris and Tokyo"))
    assert [name for name, _ in both] == ["get_current_weather"] * 2
    assert "Paris" in both[0][1]["location"] and "Tokyo" in both[1][1]["location"]
    one = names_and_arguments(ask(qwen, "Weather in Paris and Tokyo", parallel_tool_calls=False))
    assert len(one) == 1


def test_qwen_answers_instead_of_repeating_an_answered_call(qwen: ChatModel) -> None:
    """Given the tool's result, the default model would call the same tool again (forever,
    in an agent loop); toolwire withholds that call and the turn becomes text."""
    conversation = [
        {"role": "user", "content": "What is the weather for Istanbul?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_current_weather", "arguments": '{"location": "Istanbul"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21, "sky": "sunny"}'},
    ]
    message = qwen.chat(conversation, tools=QWEN_TOOLS, max_tokens=60)["choices"][0]["message"]
    assert "tool_calls" not in message and message["content"]


# --- one code path: streamed == non-streamed, for every format and every policy setting ----

POLICY_SETTINGS = [{}, {"call_syntax": "keep"}, {"call_syntax": "probe"}, {"parallel_calls": "model"},
                   {"parallel_calls": "grounded"}, {"repeat_calls": "allow"}, {"constrained": False}]
WITH_RESULT = QUESTION + [
    {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "sunny"}'},
]


def _settings_id(settings: dict) -> str:
    return ",".join(f"{key}={value}" for key, value in settings.items()) or "defaults"


def reassemble(chunks: list[dict]) -> tuple[dict, str | None, dict | None]:
    """The message, finish reason and toolwire notes that streamed chunks add up to."""
    message: dict = {"role": "assistant", "content": None}
    content, reasoning, calls = "", "", []
    finish, notes = None, None
    for chunk in chunks:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or ""
            for part in delta.get("tool_calls") or []:
                if "id" in part:
                    assert part["index"] == len(calls)
                    calls.append({"id": part["id"], "type": "function",
                                  "function": {"name": part["function"]["name"], "arguments": ""}})
                calls[part["index"]]["function"]["arguments"] += part["function"]["arguments"]
            finish = choice["finish_reason"] or finish
        notes = chunk.get("toolwire", notes)
    message["content"] = content or None
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return message, finish, notes


AFTER_A_RESULT_SETTINGS = [{}, {"repeat_calls": "allow"}, {"constrained": False}]
"""After a tool result, the settings whose decisions change there (repeats of an answered
call, unconstrained text); every setting is covered on the question. About 9 s a case on a
2-core AVX2 machine: the whole matrix twice would not fit CI's time."""


@pytest.mark.parametrize(("conversation", "settings"), [
    *[pytest.param(QUESTION, settings, id="question-" + _settings_id(settings)) for settings in POLICY_SETTINGS],
    *[pytest.param(WITH_RESULT, settings, id="after-a-result-" + _settings_id(settings))
      for settings in AFTER_A_RESULT_SETTINGS],
])
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_streamed_answers_are_the_non_streamed_ones(smollm2_engine, name, settings, conversation) -> None:  # type: ignore[no-untyped-def]
    model = ChatModel(smollm2_engine, get_format(name), "smollm2-135m")
    options = {"tools": TOOL_DICTS, "max_tokens": 48, "policies": settings}
    # the same KV-cache state before both: llama.cpp's logits differ in the last bits between
    # a prompt evaluated whole and one whose prefix was cached, which can flip a near tie
    smollm2_engine.forget()
    whole = model.chat(conversation, **options)
    smollm2_engine.forget()
    message, finish, notes = reassemble(list(model.chat(conversation, stream=True, **options)))
    expected = dict(whole["choices"][0]["message"])
    for call in message.get("tool_calls", []) + expected.get("tool_calls", []):
        call["id"] = "ids differ between runs"
    assert message == expected
    assert finish == whole["choices"][0]["finish_reason"]
    assert notes == whole.get("toolwire")


def test_qwen_where_a_further_call_is_filtered_the_model_chose_to_end(qwen: ChatModel) -> None:
    """`parallel_calls="supported"` drops a forced further call (here a repeat); the model's
    own odds at that point favour ending the turn over another call."""
    coin = {"type": "function", "function": {"name": "flip_coin", "description": "Flip a coin",
                                             "parameters": {"type": "object", "properties": {}}}}
    messages = [{"role": "user", "content": "Flip a coin three times."}]
    result = qwen.chat(messages, tools=[coin], max_tokens=120)
    kept = result["choices"][0]["message"].get("tool_calls") or []
    assert kept and all(call["function"]["name"] == "flip_coin" for call in kept)
    if len(kept) < 3:
        assert any(note["policy"] == "parallel_calls" for note in result["toolwire"]["notes"])
        reply = AssistantMessage(tool_calls=[{"id": c["id"], "type": "function", "function": c["function"]} for c in kept])
        prompt = qwen.render(messages, [coin]) + qwen.format.render_reply(reply) + "\n"
        odds = qwen.engine.next_token_logprobs(prompt, ["<tool_call>", "<|im_end|>", "<|endoftext|>"])
        assert max(odds["<|im_end|>"], odds["<|endoftext|>"]) > odds["<tool_call>"]
